// The restart policy, as a pure function of a run's end: whether the workload starts again, and after how long.
// Docker's rules: `no`, `on-failure` (a non-zero exit), `always`; a run that lasted STABLE_RUN_MS starts the
// backoff over, and each quick failure in a row doubles the wait up to BACKOFF_MAX_MS.
import type { RestartPolicy } from './workload.ts'

export const BACKOFF_BASE_MS = 100
export const BACKOFF_MAX_MS = 10_000
export const STABLE_RUN_MS = 10_000

export interface RunOutcome {
  policy: RestartPolicy
  /** Whether the workload is still wanted (a stop or a remove says no). */
  wanted: boolean
  /** Whether the node is going down: nothing starts again then. */
  stopping: boolean
  /** Why the run could not start or be followed; a workload that never ran is not restarted. */
  error: string
  exitCode: number | null
  startedAt: number
  finishedAt: number
  /** Quick ends in a row before this one. */
  streak: number
}

/** What happens after a run ends: stay exited, or start again after `delayMs` with the new `streak`. */
export function afterRun (o: RunOutcome): { restart: false } | { restart: true, delayMs: number, streak: number } {
  const failed = o.exitCode !== 0
  const wantsIt = o.policy === 'always' || (o.policy === 'on-failure' && failed)
  if (!o.wanted || o.stopping || o.error !== '' || !wantsIt) return { restart: false }
  const streak = o.finishedAt - o.startedAt >= STABLE_RUN_MS ? 0 : o.streak + 1
  return { restart: true, streak, delayMs: Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, streak - 1)) }
}
