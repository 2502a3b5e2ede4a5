import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { NotFoundError, type AuraeClient, type Workload } from '../../../../src/client/index.ts'
import { ps } from '../../../../src/cli/commands/workload/ls.ts'
import { stop } from '../../../../src/cli/commands/workload/stop.ts'
import { parse } from '../../../../src/cli/kit/args.ts'
import type { Context } from '../../../../src/cli/kit/context.ts'
import type { Io } from '../../../../src/cli/kit/io.ts'

/** Streams a test reads back, and an Io that would fail loudly if a command tried to quit or catch signals. */
function fakeIo (): Io & { out: () => string, err: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', d => { out += String(d) })
  stderr.on('data', d => { err += String(d) })
  return {
    stdout,
    stderr,
    stdin: [],
    env: { NO_COLOR: '1' },
    uid: 0,
    execPath: '/nonexistent/node',
    onSignal: () => { throw new Error('this command takes no signals') },
    quit: () => { throw new Error('this command does not quit') },
    out: () => out,
    err: () => err
  }
}

const web: Workload = {
  name: 'web', kind: 'executable', state: 'running', pid: 42, exitCode: undefined, signal: '', restarts: 1, oomKilled: false, error: '',
  createdAtMs: 1, startedAtMs: Date.now() - 5000, finishedAtMs: 0, spec: undefined
}

const contextWith = (io: Io, daemon: Partial<AuraeClient>): Context => ({ io, sock: '/nonexistent.sock', daemon: () => daemon as AuraeClient })

describe('workload commands, given their I/O and a client', () => {
  it('ps writes its table and its JSON to the stdout it is given, and returns 0', async () => {
    const asked: unknown[] = []
    const daemon = { workloads: { list: async (req: unknown) => { asked.push(req); return { workloads: [web] } } } } as unknown as AuraeClient
    const io = fakeIo()
    expect(await ps.run(parse(ps.spec, ['--all']), contextWith(io, daemon))).toBe(0)
    expect(asked).toEqual([{ all: true, peer: '' }])
    expect(io.out().split('\n')[1].split(/\s+/)).toEqual(['web', 'executable', '-', 'running', '42', '-', '5s', '1', '-'])
    const json = fakeIo()
    await ps.run(parse(ps.spec, ['--json']), contextWith(json, daemon))
    expect(JSON.parse(json.out())).toMatchObject([{ name: 'web', pid: 42, exitCode: null, restarts: 1 }])
    expect(io.err() + json.err()).toBe('')
  })

  it('stop reports each name in order, a failure as its class\'s one line, and exits with the worst code', async () => {
    const daemon = {
      workloads: {
        stop: async ({ name }: { name: string }) => {
          if (name === 'ghost') throw new NotFoundError('no workload named ghost')
          return { workload: undefined }
        }
      }
    } as unknown as AuraeClient
    const io = fakeIo()
    expect(await stop.run(parse(stop.spec, ['web', 'ghost', 'db']), contextWith(io, daemon))).toBe(1)
    expect(io.out()).toBe('web\ndb\n')
    expect(io.err()).toBe('aurae: no workload named ghost\n')
  })
})
