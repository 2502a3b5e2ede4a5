// The daemon's side of `aurae-monitor --launcher`: one small process that forks every monitor,
// because a fork from it costs a fraction of a spawn from Node.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

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

  constructor (private readonly monitorPath: string) {}

  /** Starts a monitor with `args` and `env`; resolves with its status line. */
  async launch (args: string[], env: Record<string, string>): Promise<LaunchStatus> {
    const child = this.child ?? this.startChild()
    const id = String(++this.seq)
    const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`)
    const payload = Buffer.from([id, String(args.length), ...args, String(envList.length), ...envList].join('\0') + '\0')
    const frame = Buffer.alloc(4 + payload.length)
    frame.writeUInt32LE(payload.length, 0)
    payload.copy(frame, 4)
    return await new Promise(resolve => {
      this.pending.set(id, resolve)
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
