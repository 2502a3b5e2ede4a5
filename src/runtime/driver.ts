// The narrow boundary between the supervisor and each kind of workload.
import type { Bind, WorkloadKind, WorkloadRecord } from './workload.ts'

/** The PATH a workload gets when nothing gives it one (Docker's default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** What the monitor runs for one start of a workload. */
export interface LaunchPlan {
  argv: string[]
  env: Record<string, string>
  workdir: string
  /** The cgroup the process joins before it execs; empty for none. */
  cgroup: string
  /** A root the monitor mounts before the start and unmounts after the exit (a container's overlay). */
  overlay?: { target: string, options: string }
  /** Paths made inaccessible in a mount namespace of the workload's own (daemon space, for executables). */
  hide?: string[]
  /** Host paths bound into that namespace after the hiding, so a user can show one on purpose. */
  binds?: Bind[]
}

/** How one run ended, as its monitor recorded it. */
export interface RunEnd {
  exitCode: number | null
  signal: string | null
  finishedAt?: string
  error?: string
}

/** One kind of workload: makes what a start needs and frees it after the exit. */
export interface WorkloadDriver {
  readonly kind: WorkloadKind
  /** `signal` ends what the start waits on (a pull) once the client that asked for it has gone; restarts have none. */
  prepare: (rec: WorkloadRecord, signal?: AbortSignal) => Promise<LaunchPlan>
  release: (rec: WorkloadRecord) => Promise<void>
  /** The cgroup the workload runs in, for OOM accounting; empty for none. */
  cgroupOf: (rec: WorkloadRecord) => string
  /** Reads more into a run's end than its exit status says, before release (a runtime that could not start the process). */
  explain?: (rec: WorkloadRecord, end: RunEnd) => Promise<RunEnd>
}
