// The supervisor's files on disk: each run's exit file, which its monitor writes (monitor-protocol.ts), and each
// workload's log with its rotations (log-files.ts). Watching the run directory is how exits are learnt at once.
import { mkdirSync, readdirSync, rmSync, watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import type { RunEnd } from './driver.ts'
import { isLogFileOf } from './log-files.ts'
import { exitFilePath, readExitFile } from './monitor-protocol.ts'

export interface RunFilesEvents {
  /** An exit file of run `run` of workload `name` appeared (or changed). */
  exit: (name: string, run: number) => void
  /** A file about an attached reader changed (attach.ts waits on these). */
  attach: () => void
  error: (err: unknown) => void
}

export class RunFiles {
  readonly runDir: string
  readonly logDir: string
  private watcher?: FSWatcher

  constructor (dataDir: string) {
    this.runDir = join(dataDir, 'run')
    this.logDir = join(dataDir, 'logs')
  }

  /** Makes the directories (owner-only) and watches the run directory. */
  open (on: RunFilesEvents): void {
    mkdirSync(this.runDir, { recursive: true, mode: 0o700 })
    mkdirSync(this.logDir, { recursive: true, mode: 0o700 })
    this.watcher = watch(this.runDir, (_e, file) => {
      const m = file === null ? null : /^(.+)\.(\d+)\.exit$/.exec(file)
      if (m !== null) on.exit(m[1], Number(m[2]))
      if (file?.endsWith('.attach') === true) on.attach()
    })
    this.watcher.on('error', on.error)
  }

  close (): void {
    this.watcher?.close()
  }

  exitFile (name: string, run: number): string {
    return exitFilePath(this.runDir, name, run)
  }

  /** How run `run` ended, once its monitor has said. */
  readExit (name: string, run: number): RunEnd | undefined {
    return readExitFile(this.exitFile(name, run))
  }

  /** Polls briefly for the exit file of a run whose start failed inside the monitor (it writes the file at once). */
  async awaitExit (name: string, run: number, waiting: () => boolean): Promise<RunEnd | undefined> {
    for (let i = 0; i < 200 && waiting(); i++) {
      const end = this.readExit(name, run)
      if (end !== undefined) return end
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    return undefined
  }

  /** Drops a run's exit file once its end is recorded elsewhere. */
  clearExit (name: string, run: number): void {
    rmSync(this.exitFile(name, run), { force: true })
    rmSync(`${this.exitFile(name, run)}.tmp`, { force: true })
  }

  logPath (name: string): string {
    return join(this.logDir, `${name}.log`)
  }

  /** Removes every file of the workload: its logs (rotated ones too) and its runs' exit files, and no one else's. */
  removeAll (name: string): void {
    for (const f of readdirSync(this.logDir)) if (isLogFileOf(f, `${name}.log`)) rmSync(join(this.logDir, f), { force: true })
    for (const f of readdirSync(this.runDir)) {
      if (f.startsWith(`${name}.`) && /^\d+\.exit(\.tmp)?$/.test(f.slice(name.length + 1))) rmSync(join(this.runDir, f), { force: true })
    }
  }
}
