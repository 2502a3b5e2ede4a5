import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ROOT, run, until } from '../../helpers/node.ts'
import { blockedOnPipe } from '../../helpers/procs.ts'

const MONITOR = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-monitor')
const NOBODY = 65534

/** A stand-in for the daemon: connects to the monitor where it listens, and collects its frames. */
class Caller {
  private readonly raw: Buffer[] = []
  ended = false

  private constructor (readonly socket: Socket, read: boolean) {
    if (!read) socket.pause()
    socket.on('data', d => this.raw.push(d))
    socket.on('end', () => { this.ended = true })
  }

  /** Connects once the monitor listens at `path`; with `read` false, reads nothing until resumed. */
  static async dial (path: string, read: boolean): Promise<Caller> {
    const socket = await until('the monitor to listen', async () => await new Promise<Socket | undefined>(resolve => {
      const s = connect(path)
      s.once('connect', () => resolve(s))
      s.once('error', () => resolve(undefined))
    }))
    return new Caller(socket, read)
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

/** The content of a CRI log: each line joined from its stream's P records, with the tag of each record. */
function readCri (path: string): { lines: string[], records: Array<{ stream: string, tag: string, length: number }> } {
  const records: Array<{ stream: string, tag: string, length: number }> = []
  const lines: string[] = []
  const partial = new Map<string, string>()
  for (const line of readFileSync(path, 'latin1').split('\n').slice(0, -1)) {
    const [time, stream, tag] = line.split(' ', 3)
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(time)) throw new Error(`not an RFC 3339 time: ${time}`)
    const content = line.slice(time.length + stream.length + tag.length + 3)
    records.push({ stream, tag, length: content.length })
    const joined = (partial.get(stream) ?? '') + content
    if (tag === 'F') {
      lines.push(`${stream}:${joined}`)
      partial.delete(stream)
    } else {
      partial.set(stream, joined)
    }
  }
  for (const [stream, rest] of partial) lines.push(`partial ${stream}:${rest}`)
  return { lines, records }
}

describe('aurae-monitor', () => {
  let dir: string
  let caller: Caller | undefined
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'aurae-monitor-')) })
  afterEach(() => {
    caller?.socket.destroy()
    caller = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  /** Starts the monitor on `sh -c command`; `closed` resolves once it has exited. */
  const monitor = (command: string, attach: boolean): { pid: number, closed: Promise<unknown> } => {
    const args = ['--exit-file', join(dir, 'exit'), '--log', join(dir, 'log'), '--log-max-bytes', String(1 << 30)]
    if (attach) args.push('--attach', join(dir, 'run.attach'))
    const child = spawn(MONITOR, [...args, '--', 'sh', '-c', command], { stdio: 'ignore' })
    return { pid: child.pid as number, closed: new Promise(resolve => child.once('close', resolve)) }
  }

  it('logs whole lines as F records and splits long ones into 16 KB P records', async () => {
    await monitor('seq 1 300000; head -c 40000 /dev/zero | tr "\\0" x; echo; head -c 16384 /dev/zero | tr "\\0" y; echo; echo oops >&2; printf tail', false).closed
    const { lines, records } = readCri(join(dir, 'log'))
    const seq = spawnSync('seq', ['1', '300000'], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout.split('\n').slice(0, -1)
    expect(lines).toEqual([...seq.map(l => `stdout:${l}`), `stdout:${'x'.repeat(40000)}`, `stdout:${'y'.repeat(16384)}`, 'stderr:oops', 'partial stdout:tail'])
    // A quiet moment may also flush a partial line early; the 16 KB split holds whatever the timing.
    expect(records.reduce((m, r) => Math.max(m, r.length), 0)).toBe(16384)
    expect(records.filter(r => r.tag === 'P' && r.length === 16384).length).toBeGreaterThanOrEqual(3)
    expect(records.filter(r => r.stream === 'stdout').at(-1)).toEqual({ stream: 'stdout', tag: 'P', length: 4 })
    expect(JSON.parse(readFileSync(join(dir, 'exit'), 'utf8'))).toMatchObject({ exitCode: 0 })
  })

  it('sends the output to an attached caller as frames, stdout and stderr apart, and logs it too', async () => {
    const { closed } = monitor('seq 1 200000; seq 1 1000 >&2; head -c 3000000 /dev/zero', true)
    const c = caller = await Caller.dial(join(dir, 'run.attach'), true)
    await closed
    await until('the end of the connection', () => c.ended)
    const { stdout, stderr } = c.streams()
    const seq = (n: number): string => spawnSync('seq', ['1', String(n)], { encoding: 'latin1', maxBuffer: 1 << 26 }).stdout
    expect(stdout.equals(Buffer.concat([Buffer.from(seq(200000), 'latin1'), Buffer.alloc(3000000)]))).toBe(true)
    expect(stderr.toString()).toBe(seq(1000))
    expect(readCri(join(dir, 'log')).lines).toHaveLength(201001)
    expect(existsSync(join(dir, 'run.attach'))).toBe(false)
  })

  it('starts the workload at once but keeps its output in the pipe until the caller has connected', async () => {
    const { pid, closed } = monitor('head -c 4M /dev/zero; echo done >&2', true)
    await until('the monitor to listen', () => existsSync(join(dir, 'run.attach')))
    // More than the pipe holds: the workload runs, then waits, and nothing has been taken from it yet.
    await until('the workload to wait on its full pipe', () => blockedOnPipe(pid, 'head'))
    expect(existsSync(join(dir, 'exit'))).toBe(false)
    expect(readFileSync(join(dir, 'log'), 'utf8')).toBe('')
    const c = caller = await Caller.dial(join(dir, 'run.attach'), true)
    await closed
    await until('the end of the connection', () => c.ended)
    const { stdout, stderr } = c.streams()
    expect(stdout.equals(Buffer.alloc(4 * 1024 * 1024))).toBe(true)
    expect(stderr.toString()).toBe('done\n')
  })

  it('lets the workload wait while the caller reads nothing, and records its exit before the caller has read the rest', async () => {
    const { pid, closed } = monitor('head -c 64M /dev/zero; echo done >&2', true)
    const c = caller = await Caller.dial(join(dir, 'run.attach'), false)
    await until('the workload to wait on its full pipe', () => blockedOnPipe(pid, 'head'))
    expect(existsSync(join(dir, 'exit'))).toBe(false)
    c.socket.resume()
    await until('the exit file', () => existsSync(join(dir, 'exit')))
    await until('the end of the connection', () => c.ended)
    await closed
    const { stdout, stderr } = c.streams()
    expect(stdout.length).toBe(64 * 1024 * 1024)
    expect(stderr.toString()).toBe('done\n')
  })

  it('records the exit without waiting for a caller that has stopped reading', async () => {
    const { closed } = monitor('head -c 1000000 /dev/zero; exit 3', true)
    const c = caller = await Caller.dial(join(dir, 'run.attach'), false)
    await until('the exit file', () => existsSync(join(dir, 'exit')))
    expect(JSON.parse(readFileSync(join(dir, 'exit'), 'utf8'))).toMatchObject({ exitCode: 3 })
    expect(c.received()).toBe(0)
    c.socket.resume()
    await until('the end of the connection', () => c.ended)
    await closed
    expect(c.streams().stdout.length).toBe(1000000)
  })

  it('carries on with the log alone when the caller goes away', async () => {
    const { closed } = monitor('seq 1 2000000', true)
    const c = caller = await Caller.dial(join(dir, 'run.attach'), false)
    c.socket.destroy()
    await closed
    expect(JSON.parse(readFileSync(join(dir, 'exit'), 'utf8'))).toMatchObject({ exitCode: 0 })
    expect(readCri(join(dir, 'log')).lines.at(-1)).toBe('stdout:2000000')
  })

  it('runs the workload with the log alone when no caller comes', async () => {
    await monitor('echo alone', true).closed
    expect(readCri(join(dir, 'log')).lines).toEqual(['stdout:alone'])
    expect(existsSync(join(dir, 'run.attach'))).toBe(false)
  })
})

/** The workload's output, from the monitor's CRI log: `<time> <stream> <tag> <line>`. */
const output = (log: string): string => readFileSync(log, 'utf8').split('\n').filter(Boolean).map(l => l.split(' ').slice(3).join(' ')).join('\n')

describe('the monitor hides daemon space from the executable of a daemon that is not root', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-monitor-'))
    for (const d of ['data', 'run']) mkdirSync(join(dir, d))
    for (const d of ['', 'data', 'run']) chownSync(join(dir, d), NOBODY, NOBODY)
    writeFileSync(join(dir, 'key'), 'the node\'s key\n', { mode: 0o600 })
    writeFileSync(join(dir, 'data', 'store'), 'records\n')
    for (const f of ['key', join('data', 'store')]) chownSync(join(dir, f), NOBODY, NOBODY)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('in a user namespace of its own, where it can neither unmount nor unshare its way past the hiding', async () => {
    const key = join(dir, 'key')
    const data = join(dir, 'data')
    // One stream for both, so the lines keep the order they were written in.
    const script = [
      'exec 2>&1',
      `cat ${key} || echo no key`,
      `ls -A ${data} | wc -l`,
      `cat ${data}/shown/key`,
      `umount ${key} || echo no umount`,
      `unshare -Urm sh -c "umount ${key} || echo no umount inside; cat ${key} || echo still no key"`
    ].join('; ')
    const res = await run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', MONITOR,
      '--exit-file', join(dir, 'run', 'exit'), '--log', join(dir, 'run', 'log'),
      '--hide', key, '--hide', data, '--bind-ro', key, join(data, 'shown', 'key'), '--', 'sh', '-c', script])
    expect(res).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(readFileSync(join(dir, 'run', 'exit'), 'utf8'))).toMatchObject({ exitCode: 0 })
    expect(output(join(dir, 'run', 'log')).replaceAll(dir, '<dir>')).toBe([
      'cat: <dir>/key: Permission denied', 'no key',
      // The hidden directory lets the workload through to what was bound into it, and no further.
      'ls: cannot open directory \'<dir>/data\': Permission denied', '0',
      'the node\'s key',
      'umount: <dir>/key: must be superuser to unmount.', 'no umount',
      // Root in a user namespace of its own, the mounts it inherited are locked together.
      'umount: <dir>/key: not mounted.', 'no umount inside',
      'cat: <dir>/key: Permission denied', 'still no key'
    ].join('\n'))
    // Nothing of it reached the host's mount table, and the files are as they were.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir)
    expect(readFileSync(key, 'utf8')).toBe('the node\'s key\n')
  })
})
