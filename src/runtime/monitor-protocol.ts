// What the daemon and aurae-monitor (monitor/aurae-monitor.c) agree on: the monitor's command line, where a run's
// exit file lives and what it holds. The log's naming and rotation are log-files.ts's, which the C side follows
// from the --log, --log-max-bytes and --log-files it is given here.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Adopt, RunEnd } from './driver.ts'
import type { Bind } from './workload.ts'

/** One run as the monitor is told of it. */
export interface MonitorRun {
  exitFile: string
  log: string
  logMaxBytes: number
  logFiles: number
  /** cgroup.procs files the process joins before it execs. */
  cgroupProcs: string[]
  overlay?: { target: string, options: string }
  hide: string[]
  binds: Bind[]
  /** The socket an attached reader connects to, if one waits for the output. */
  attach?: string
  workdir: string
  adopt?: Adopt
  /** The process's stdin (LaunchPlan.input). */
  input?: 'pipe' | 'tty'
  argv: string[]
}

/** The monitor's arguments for one run (after the program's own path). */
export function monitorArgs (r: MonitorRun): string[] {
  const args = ['--exit-file', r.exitFile, '--log', r.log, '--log-max-bytes', String(r.logMaxBytes), '--log-files', String(r.logFiles)]
  for (const f of r.cgroupProcs) args.push('--cgroup-procs', f)
  if (r.overlay !== undefined) args.push('--overlay', r.overlay.target, '--overlay-options', r.overlay.options)
  for (const path of r.hide) args.push('--hide', path)
  for (const b of r.binds) args.push(b.readOnly ? '--bind-ro' : '--bind', b.host, b.path)
  if (r.attach !== undefined) args.push('--attach', r.attach)
  if (r.adopt !== undefined) args.push('--pid-file', r.adopt.pidFile)
  if (r.adopt?.consoleSocket !== undefined) args.push('--console-socket', r.adopt.consoleSocket)
  for (const a of r.adopt?.start ?? []) args.push('--start', a)
  if (r.input !== undefined) args.push('--stdin', r.input)
  args.push('--workdir', r.workdir, '--', ...r.argv)
  return args
}

/** Where run `run` of workload `name` records how it ended (the monitor writes `<path>.tmp`, then renames). */
export function exitFilePath (runDir: string, name: string, run: number): string {
  return join(runDir, `${name}.${run}.exit`)
}

/** How a run ended, as its monitor recorded it; undefined while it has not (or the file is unreadable). */
export function readExitFile (path: string): RunEnd | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunEnd
  } catch {
    return undefined
  }
}
