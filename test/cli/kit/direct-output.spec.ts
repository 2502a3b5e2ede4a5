import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { DirectOutput } from '../../../src/cli/kit/direct-output.ts'

const dir = mkdtempSync(join(tmpdir(), 'aurae-direct-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const frame = (stream: number, data: string): Buffer => {
  const body = Buffer.from(data)
  const head = Buffer.alloc(5)
  head[0] = stream
  head.writeUInt32BE(body.length, 1)
  return Buffer.concat([head, body])
}

/** A monitor's attach socket: sends `frames` to the first connection once `go` resolves, then closes it. */
async function monitor (name: string, frames: Buffer[], go: Promise<unknown> = Promise.resolve()): Promise<{ path: string, server: Server, sent: Promise<void> }> {
  const path = join(dir, name)
  const server = createServer()
  const sent = new Promise<void>(resolve => server.once('connection', (socket: Socket) => {
    void go.then(() => {
      for (const f of frames) socket.write(f)
      socket.end(resolve)
    })
  }))
  await new Promise<void>(resolve => server.listen(path, resolve))
  return { path, server, sent }
}

/** stdout and stderr that take each write a little later, and read the bytes only then. */
function slowOutput (): { out: { stdout: Writable, stderr: Writable }, text: { stdout: string, stderr: string } } {
  const text = { stdout: '', stderr: '' }
  const sink = (stream: 'stdout' | 'stderr'): Writable => new Writable({
    write (chunk: Buffer, _enc, done) {
      setImmediate(() => { text[stream] += chunk.toString(); done() })
    }
  })
  return { out: { stdout: sink('stdout'), stderr: sink('stderr') }, text }
}

const lines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`).join('')

describe('direct output', () => {
  it('writes each run whole, in run order, though a later run sends first, and its reads are written before the next lands', async () => {
    const out = lines(1, 100000)
    const err = lines(1, 30000)
    const first: Buffer[] = []
    for (let at = 0; at < out.length; at += 7919) first.push(frame(1, out.slice(at, at + 7919)))
    first.splice(40, 0, frame(2, err))
    const run2 = await monitor('2.attach', [frame(1, 'second run\n'), frame(2, 'second err\n')])
    const run1 = await monitor('1.attach', first, run2.sent)
    const { out: streams, text } = slowOutput()
    const direct = new DirectOutput(streams)
    direct.add(run1.path, 1, () => 'job')
    direct.add(run2.path, 2, () => 'job')
    await direct.drained()
    expect(text.stdout).toBe(out + 'second run\n')
    expect(text.stderr).toBe(err + 'second err\n')
    run1.server.close()
    run2.server.close()
  })

  it('says which run it could not reach and where its output went, and goes on', async () => {
    const run2 = await monitor('3.attach', [frame(1, 'still here\n')])
    const { out: streams, text } = slowOutput()
    const direct = new DirectOutput(streams)
    direct.add(join(dir, 'gone.attach'), 1, () => 'job')
    direct.add(run2.path, 2, () => 'job')
    await direct.drained()
    expect(text.stderr).toBe('aurae: could not connect to the output of run 1; it goes to the log alone (aurae logs job)\n')
    expect(text.stdout).toBe('still here\n')
    run2.server.close()
  })
})
