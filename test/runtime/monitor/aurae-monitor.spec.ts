import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ROOT, until } from '../../helpers/node.ts'
import { blockedOnPipe } from '../../helpers/procs.ts'

const MONITOR = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-monitor')

/** A stand-in for the daemon's attach socket: takes one monitor, by its id, and collects its frames. */
class Caller {
  readonly server: Server
  socket?: Socket
  private readonly raw: Buffer[] = []
  ended = false

  constructor (readonly path: string, readonly id: string, readonly read: boolean) {
    this.server = createServer(socket => {
      socket.once('data', hello => {
        expect(hello.toString()).toBe(`${id}\n`)
        this.socket = socket
        socket.write('k')
        if (!read) socket.pause()
        socket.on('data', d => this.raw.push(d))
        socket.on('end', () => { this.ended = true })
      })
    })
  }

  /** Listens at the path before any monitor comes. */
  static async open (path: string, id: string, read: boolean): Promise<Caller> {
    const caller = new Caller(path, id, read)
    await new Promise<void>(resolve => caller.server.listen(path, resolve))
    return caller
  }

  /** stdout and stderr as the frames carried them. */
  streams (): { stdout: Buffer, stderr: Buffer, frames: number } {
    const all = Buffer.concat(this.raw)
    const out: Buffer[][] = [[], []]
    let frames = 0
    for (let at = 0; at < all.length; frames++) {
      const length = all.readUInt32BE(at + 1)
      out[all[at] - 1].push(all.subarray(at + 5, at + 5 + length))
      at += 5 + length
    }
    return { stdout: Buffer.concat(out[0]), stderr: Buffer.concat(out[1]), frames }
  }

  received (): number {
    return this.raw.reduce((n, b) => n + b.length, 0)
  }
}

/** The content of a CRI log: each line joined from its P records, with the tag of each record. */
function readCri (path: string): { lines: string[], records: Array<{ stream: string, tag: string, length: number }> } {
  const records: Array<{ stream: string, tag: string, length: number }> = []
  const lines: string[] = []
  let partial = ''
  for (const line of readFileSync(path, 'latin1').split('\n').slice(0, -1)) {
    const [time, stream, tag] = line.split(' ', 3)
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(time)) throw new Error(`not an RFC 3339 time: ${time}`)
    const content = line.slice(time.length + stream.length + tag.length + 3)
    records.push({ stream, tag, length: content.length })
    partial += content
    if (tag === 'F') {
      lines.push(`${stream}:${partial}`)
      partial = ''
    }
  }
  if (partial !== '') lines.push(`partial:${partial}`)
  return { lines, records }
}

describe('aurae-monitor', () => {
  let dir: string
  let caller: Caller | undefined
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'aurae-monitor-')) })
  afterEach(() => {
    caller?.socket?.destroy()
    caller?.server.close()
    caller = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  /** Starts the monitor on `sh -c command`; `closed` resolves once it has exited. */
  const monitor = (command: string, attach: boolean): { pid: number, closed: Promise<unknown> } => {
    const args = ['--exit-file', join(dir, 'exit'), '--log', join(dir, 'log'), '--log-max-bytes', String(1 << 30)]
    if (attach) args.push('--attach', join(dir, 'attach.sock'), '--attach-id', 'run-1')
    const child = spawn(MONITOR, [...args, '--', 'sh', '-c', command], { stdio: 'ignore' })
    return { pid: child.pid as number, closed: new Promise(resolve => child.once('close', resolve)) }
  }

  it('logs whole lines as F records and splits long ones into 16 KB P records', async () => {
    await monitor('seq 1 300000; head -c 40000 /dev/zero | tr "\\0" x; echo; head -c 16384 /dev/zero | tr "\\0" y; echo; echo oops >&2; printf tail', false).closed
    const { lines, records } = readCri(join(dir, 'log'))
    const seq = spawnSync('seq', ['1', '300000'], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout.split('\n').slice(0, -1)
    expect(lines).toEqual([...seq.map(l => `stdout:${l}`), `stdout:${'x'.repeat(40000)}`, `stdout:${'y'.repeat(16384)}`, 'stderr:oops', 'partial:tail'])
    const long = records.slice(300000)
    expect(long).toEqual([
      { stream: 'stdout', tag: 'P', length: 16384 }, { stream: 'stdout', tag: 'P', length: 16384 }, { stream: 'stdout', tag: 'F', length: 40000 - 32768 },
      { stream: 'stdout', tag: 'P', length: 16384 }, { stream: 'stdout', tag: 'F', length: 0 },
      { stream: 'stderr', tag: 'F', length: 4 },
      { stream: 'stdout', tag: 'P', length: 4 }
    ])
    expect(JSON.parse(readFileSync(join(dir, 'exit'), 'utf8'))).toMatchObject({ exitCode: 0 })
  })

  it('sends the output to an attached caller as frames, stdout and stderr apart, and logs it too', async () => {
    caller = await Caller.open(join(dir, 'attach.sock'), 'run-1', true)
    await monitor('seq 1 200000; seq 1 1000 >&2; head -c 3000000 /dev/zero', true).closed
    await until('the end of the connection', () => caller?.ended)
    const { stdout, stderr } = caller.streams()
    const seq = (n: number): string => spawnSync('seq', ['1', String(n)], { encoding: 'latin1', maxBuffer: 1 << 26 }).stdout
    expect(stdout.equals(Buffer.concat([Buffer.from(seq(200000), 'latin1'), Buffer.alloc(3000000)]))).toBe(true)
    expect(stderr.toString()).toBe(seq(1000))
    expect(readCri(join(dir, 'log')).lines).toHaveLength(201001)
  })

  it('lets the workload wait while the caller reads nothing, and records its exit before the caller has read the rest', async () => {
    caller = await Caller.open(join(dir, 'attach.sock'), 'run-1', false)
    const child = monitor('head -c 64M /dev/zero; echo done >&2', true)
    await until('the workload to wait on its full pipe', () => blockedOnPipe(child.pid, 'head'))
    expect(existsSync(join(dir, 'exit'))).toBe(false)
    caller.socket?.resume()
    await until('the exit file', () => existsSync(join(dir, 'exit')))
    await until('the end of the connection', () => caller?.ended)
    await child.closed
    const { stdout, stderr } = caller.streams()
    expect(stdout.length).toBe(64 * 1024 * 1024)
    expect(stderr.toString()).toBe('done\n')
  })

  it('records the exit without waiting for a caller that has stopped reading', async () => {
    caller = await Caller.open(join(dir, 'attach.sock'), 'run-1', false)
    const child = monitor('head -c 1000000 /dev/zero; exit 3', true)
    await until('the exit file', () => existsSync(join(dir, 'exit')))
    expect(JSON.parse(readFileSync(join(dir, 'exit'), 'utf8'))).toMatchObject({ exitCode: 3 })
    expect(caller.received()).toBe(0)
    caller.socket?.resume()
    await until('the end of the connection', () => caller?.ended)
    await child.closed
    expect(caller.streams().stdout.length).toBe(1000000)
  })

  it('carries on with the log alone when the caller goes away', async () => {
    caller = await Caller.open(join(dir, 'attach.sock'), 'run-1', false)
    const child = monitor('seq 1 2000000', true)
    await until('the connection', () => caller?.socket)
    caller.socket?.destroy()
    await child.closed
    expect(JSON.parse(readFileSync(join(dir, 'exit'), 'utf8'))).toMatchObject({ exitCode: 0 })
    expect(readCri(join(dir, 'log')).lines.at(-1)).toBe('stdout:2000000')
  })

  it('runs the workload unattached when no one answers on the attach socket', async () => {
    await monitor('echo alone', true).closed
    expect(readCri(join(dir, 'log')).lines).toEqual(['stdout:alone'])
  })
})
