// The daemon's side of `aurae-monitor --launcher`: one small process that forks every monitor,
// because a fork from it costs a fraction of a spawn from Node.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { formatBytes } from './limits.ts'

/** How long a launch may go unanswered before it is given up as failed. */
const LAUNCH_TIMEOUT_MS = 60_000
/** Linux's MAX_ARG_STRLEN (32 pages): the longest argument or environment entry execve takes, its NUL included. */
const MAX_ARG_STRLEN = 32 * 4096
/** What execve allows at least and at most for all strings and their pointers (ARG_MAX; 3/4 of _STK_LIM). */
const ARG_SPACE_MIN = 32 * 4096
const ARG_SPACE_MAX = 6 * 1024 * 1024
/** Room kept for what execve copies besides argv and envp: the program's path. */
const PATH_ROOM = 4096

/** What a monitor reports once its workload has started, or failed to. */
export interface LaunchStatus {
  pid?: number
  monitor?: number
  error?: string
}

export class Launcher {
  private child?: ChildProcess
  private readonly pending = new Map<string, (status: LaunchStatus) => void>()
  private seq = 0

  constructor (private readonly monitorPath: string, private readonly timeoutMs = LAUNCH_TIMEOUT_MS) {}

  /** Starts a monitor with `args` and `env`; resolves with its status line, or an error if none comes in time. */
  async launch (args: string[], env: Record<string, string>): Promise<LaunchStatus> {
    const child = this.child ?? this.startChild()
    const id = String(++this.seq)
    const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`)
    const payload = Buffer.from([id, String(args.length), ...args, String(envList.length), ...envList].join('\0') + '\0')
    const frame = Buffer.alloc(4 + payload.length)
    frame.writeUInt32LE(payload.length, 0)
    payload.copy(frame, 4)
    return await new Promise(resolve => {
      const timer = setTimeout(() => {
        // A late answer finds nobody waiting; a workload it started is not left running unsupervised.
        this.pending.set(id, status => { if (status.pid !== undefined) killGroup(status.pid) })
        resolve({ error: `the monitor launcher did not answer within ${this.timeoutMs / 1000} s` })
      }, this.timeoutMs)
      this.pending.set(id, status => {
        clearTimeout(timer)
        resolve(status)
      })
      child.stdin?.write(frame)
    })
  }

  /** Lets the launcher go; monitors it started keep running. */
  stop (): void {
    this.child?.stdin?.end()
    this.child = undefined
  }

  private startChild (): ChildProcess {
    const child = spawn(this.monitorPath, ['--launcher'], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.child = child
    child.stdin?.on('error', () => {})
    child.on('error', err => this.failAll(`cannot start the monitor launcher: ${err.message}`))
    child.on('exit', () => {
      if (this.child === child) this.child = undefined
      this.failAll('the monitor launcher exited')
    })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', line => {
      const space = line.indexOf(' ')
      const resolve = this.pending.get(line.slice(0, space))
      if (resolve === undefined) return
      this.pending.delete(line.slice(0, space))
      try {
        resolve(JSON.parse(line.slice(space + 1)) as LaunchStatus)
      } catch {
        resolve({ error: `the monitor said: ${line}` })
      }
    })
    return child
  }

  private failAll (error: string): void {
    for (const resolve of this.pending.values()) resolve({ error })
    this.pending.clear()
  }
}

/** Why execve would refuse `argv` with `env` (E2BIG), said before anything is started; undefined when it fits. */
export function execLimitError (argv: string[], env: Record<string, string>, stackLimit = stackSoftLimit()): string | undefined {
  const strings = [...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)]
  let bytes = (Math.max(argv.length, 1) + strings.length - argv.length) * 8 + PATH_ROOM
  for (let i = 0; i < strings.length; i++) {
    const size = Buffer.byteLength(strings[i]) + 1
    if (size > MAX_ARG_STRLEN) {
      const what = i < argv.length ? `argument ${i + 1}` : `environment entry ${strings[i].slice(0, strings[i].indexOf('='))}`
      return `the command cannot be run: ${what} is ${formatBytes(size - 1)}; the kernel takes at most ${formatBytes(MAX_ARG_STRLEN - 1)} for one`
    }
    bytes += size
  }
  const room = Math.max(ARG_SPACE_MIN, Math.min(ARG_SPACE_MAX, stackLimit / 4))
  if (bytes <= room) return undefined
  return `the command cannot be run: its ${argv.length} arguments and environment take ${formatBytes(bytes)}; the kernel takes at most ${formatBytes(room)} (a quarter of the stack limit)`
}

let stackLimit: number | undefined

/** The soft stack limit monitors inherit from this process (through the launcher, which took it at its
 * start), which sets what execve takes. Read once: it is the same for every launch. */
function stackSoftLimit (): number {
  if (stackLimit !== undefined) return stackLimit
  const m = /^Max stack size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
  stackLimit = m === null || m[1] === 'unlimited' ? Infinity : Number(m[1])
  return stackLimit
}

function killGroup (pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}
