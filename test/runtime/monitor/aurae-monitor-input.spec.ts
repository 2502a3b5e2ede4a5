import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { inputFrames } from '../../../src/common/attach-frames.ts'
import { ROOT, childrenOf, isAlive, until } from '../../helpers/node.ts'

const MONITOR = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-monitor')

/** What the monitor sent a caller, stdout frames only, as text. */
const stdoutOf = (raw: Buffer): string => {
  const out: Buffer[] = []
  for (let at = 0; at + 5 <= raw.length;) {
    const length = raw.readUInt32BE(at + 1)
    if (raw[at] === 1) out.push(raw.subarray(at + 5, at + 5 + length))
    at += 5 + length
  }
  return Buffer.concat(out).toString()
}

/** kB of resident memory of a process. */
const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])

describe('aurae-monitor passes its caller\'s input on (--stdin pipe|tty)', () => {
  let dir: string
  const pids: number[] = []
  const sockets: Socket[] = []
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'aurae-monitor-input-')) })
  afterEach(() => {
    for (const s of sockets) s.destroy()
    // The monitor and its workload, which would outlive a monitor killed alone (as it outlives the daemon).
    const withDescendants = (pid: number): number[] => [pid, ...childrenOf(pid).flatMap(withDescendants)]
    for (const pid of pids.splice(0).flatMap(withDescendants)) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  /** The monitor on `sh -c command` with `--stdin mode`, and a caller connected to it that collects what it sends. */
  const attached = async (mode: string, command: string): Promise<{ pid: number, socket: Socket, raw: () => Buffer, closed: Promise<unknown>, ended: Promise<unknown> }> => {
    const args = ['--exit-file', join(dir, 'exit'), '--log', join(dir, 'log'), '--attach', join(dir, 'run.attach'), '--stdin', mode, '--', 'sh', '-c', command]
    const child = spawn(MONITOR, args, { stdio: 'ignore' })
    pids.push(child.pid as number)
    const closed = new Promise(resolve => child.once('close', resolve))
    const socket = await until('the monitor to listen', async () => await new Promise<Socket | undefined>(resolve => {
      const s = connect(join(dir, 'run.attach'))
      s.once('connect', () => resolve(s))
      s.once('error', () => resolve(undefined))
    }))
    sockets.push(socket)
    const chunks: Buffer[] = []
    socket.on('data', d => chunks.push(d))
    const ended = new Promise(resolve => socket.once('close', resolve))
    return { pid: child.pid as number, socket, raw: () => Buffer.concat(chunks), closed, ended }
  }

  it('writes stdin frames, however they are cut, to the workload\'s stdin and closes it at their end', async () => {
    const run = await attached('pipe', 'wc -c; echo end')
    const bytes = Buffer.concat([...inputFrames({ stdin: Buffer.alloc(300_000, 'a') }), ...inputFrames({ stdin: Buffer.from('tail') }), ...inputFrames({ stdinEnd: true })])
    // One byte at a time for the first frame headers, then in odd sizes: the monitor reassembles them.
    for (let at = 0; at < bytes.length;) {
      const n = at < 12 ? 1 : 7777
      run.socket.write(bytes.subarray(at, at + n))
      at += n
    }
    await run.closed
    await run.ended
    expect(stdoutOf(run.raw())).toBe('300004\nend\n')
  })

  it('holds a caller that types faster than the workload reads on its socket, not in its memory', async () => {
    const run = await attached('pipe', 'sleep 1000')
    const block = Buffer.concat(inputFrames({ stdin: Buffer.alloc(1 << 20) }))
    let written = 0
    while (run.socket.write(block)) written += block.length
    for (let i = 0; i < 63; i++) run.socket.write(block)
    // 64 MB offered: the monitor took what its pipe and one block hold, and the rest waits with the caller.
    await until('the caller to be held back', () => run.socket.writableLength > 32 << 20)
    expect(rssKb(run.pid)).toBeLessThan(8 * 1024)
  })

  it('gives the workload a terminal of its own that takes the caller\'s size', async () => {
    const run = await attached('tty', 'read x; stty size; tty; exit 3')
    run.socket.write(Buffer.concat([...inputFrames({ size: { rows: 33, cols: 77 } }), ...inputFrames({ stdin: Buffer.from('go\n') })]))
    await run.closed
    expect(stdoutOf(run.raw())).toMatch(/go\r\n33 77\r\n\/dev\/pts\/\d+\r\n/)
    expect(JSON.parse(readFileSync(join(dir, 'exit'), 'utf8'))).toMatchObject({ exitCode: 3 })
  })

  it('drops a caller that sends a frame no caller sends, and the workload carries on to its end', async () => {
    const run = await attached('pipe', 'cat; echo closed >&2')
    run.socket.write(Buffer.from([9, 0, 0, 0, 1, 0]))
    await run.ended
    // Its stdin closed with the caller gone: cat ends, and so does the run.
    await run.closed
    expect(readFileSync(join(dir, 'log'), 'utf8')).toMatch(/stderr F closed/)
  })
})
