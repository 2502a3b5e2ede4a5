// The delayer of the NAT testbed (nfq-delay.c): built with `cc` on first use into a cache dir, run
// inside a namespace, watched so that a delayer that dies is reported rather than missed.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './node.ts'

const SOURCE = join(import.meta.dirname, 'nfq-delay.c')

/** Compiles the delayer unless this version of its source was compiled before; returns its path. */
async function binary (): Promise<string> {
  const source = readFileSync(SOURCE)
  const dir = join(tmpdir(), 'aurae-test-tools')
  const bin = join(dir, `nfq-delay-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`)
  if (existsSync(bin)) return bin
  mkdirSync(dir, { recursive: true })
  // Test workers may build at once: each into its own file, renamed into place whole.
  const tmp = `${bin}.${process.pid}.tmp`
  const cc = await run('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, SOURCE, '-lnetfilter_queue'])
  if (cc.code !== 0) throw new Error(`cannot build nfq-delay (is libnetfilter-queue-dev installed?): ${cc.stderr.trim()}`)
  renameSync(tmp, bin)
  return bin
}

export class Delayer {
  /** Why the delayer ended before stop() was called, if it did. */
  died: string | undefined
  private stopping = false
  private readonly exited: Promise<void>

  private readonly child: ChildProcess
  readonly pid: number

  // Plain fields, not parameter properties: bench/ imports this file with Node's own type stripping.
  private constructor (child: ChildProcess, pid: number) {
    this.child = child
    this.pid = pid
    let stderr = ''
    child.stderr?.on('data', d => { stderr += String(d) })
    this.exited = new Promise(resolve => child.on('exit', (code, signal) => {
      if (!this.stopping) this.died = `nfq-delay (pid ${pid}) ended (${signal ?? `code ${code}`}) ${stderr.trim()}`.trim()
      resolve()
    }))
  }

  /** Starts a delayer holding every packet of NFQUEUE `queue` in namespace `ns` for `delayMs`, once it is bound. */
  static async start (ns: string, queue: number, delayMs: number): Promise<Delayer> {
    const child = spawn('nsenter', [`--net=/run/netns/${ns}`, await binary(), String(queue), String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.on('error', () => {})
    if (child.pid === undefined) throw new Error('cannot start nsenter for nfq-delay')
    const delayer = new Delayer(child, child.pid)
    let timer: NodeJS.Timeout | undefined
    const ready = await Promise.race([
      new Promise<boolean>(resolve => child.stdout?.on('data', d => { if (String(d).includes('ready')) resolve(true) })),
      delayer.exited.then(() => false),
      new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), 10_000) })
    ])
    clearTimeout(timer)
    if (ready) return delayer
    await delayer.stop()
    throw new Error(delayer.died ?? 'nfq-delay did not bind its queue within 10 s')
  }

  /** Ends the delayer (by its PID) and waits until it is gone. */
  async stop (): Promise<void> {
    this.stopping = true
    if (this.child.exitCode === null && this.child.signalCode === null) try { process.kill(this.pid, 'SIGTERM') } catch {}
    await this.exited
  }
}
