// The stop, signal and state of a workload that is a process on this host (executables, whose process group takes
// the signals, and containers, whose process the monitor adopted): what both drivers share of the driver contract.
import type { StopRequest, Task, TaskState } from './driver.ts'
import { isSameProcess } from './proc.ts'

/** Signals the task's process alone (a container's init, as the runtime's `kill` does), only if its PID is still it. */
export function signalProcess (task: Task, sig: NodeJS.Signals): void {
  if (!isSameProcess(task.pid, task.pidStart)) return
  try { process.kill(task.pid, sig) } catch {}
}

/** Signals the task's process group, only if its recorded PID still names the process the monitor started. */
export function signalGroup (task: Task, sig: NodeJS.Signals): void {
  if (!isSameProcess(task.pid, task.pidStart)) return
  try {
    process.kill(-task.pid, sig)
  } catch {
    try { process.kill(task.pid, sig) } catch {}
  }
}

export function groupState (task: Task): TaskState {
  const running = isSameProcess(task.pid, task.pidStart)
  return { status: running ? 'running' : 'stopped', pid: running ? task.pid : 0 }
}

/**
 * `gentle` (SIGTERM unless the workload says otherwise) to the group (or as `send` delivers it), SIGKILL at once for a timeout of 0; once the
 * timeout has passed without the run ending, SIGKILL and `killRest` (whatever is left in the workload's cgroup).
 */
export async function stopGroup (task: Task, { timeoutMs, exited }: StopRequest, killRest: () => Promise<void>, gentle: NodeJS.Signals = 'SIGTERM', send = signalGroup): Promise<void> {
  if (timeoutMs > 0) {
    send(task, gentle)
    if (await endsWithin(exited, timeoutMs)) return
  }
  send(task, 'SIGKILL')
  await killRest().catch(() => {})
}

/** Whether the run ends (`exited` settles) within `ms`: a gentle stop's grace period. */
export async function endsWithin (exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const ended = await Promise.race([
    exited.then(() => true, () => true),
    new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), ms) })
  ])
  clearTimeout(timer)
  return ended
}

/** Whether the OOM killer struck in the run's cgroup while it ran, at its main process or any other, as Docker's OOMKilled says. */
export function oomKilled (oomKills: number): boolean {
  return oomKills > 0
}
