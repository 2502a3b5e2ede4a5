// The contract between the supervisor and each kind of workload, as wide as containerd's task API: a driver makes
// what a run needs, says what the monitor runs, and owns how its kind stops, takes signals, reports its state, reads
// an exit and frees what it made. The supervisor owns records, restarts and the monitor; it never knows a kind's rules.
// Every driver passes the same suite (test/runtime/driver-compliance.ts).
import type { Bind, SpecOf, WorkloadKind, WorkloadSpec } from './workload.ts'

/** The PATH a workload gets when nothing gives it one (Docker's default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** One workload as its driver sees it: its name and spec, and the run's process when one runs. Read-only. */
export interface Task<S extends WorkloadSpec = WorkloadSpec> {
  readonly name: string
  readonly spec: S
  /** The process the monitor started (0 when none runs), with its start time so a reused PID is never signalled. */
  readonly pid: number
  readonly pidStart: number
}

/** What the monitor runs for one start of a workload. */
export interface LaunchPlan {
  argv: string[]
  env: Record<string, string>
  workdir: string
  /** The cgroup the process joins before it execs; empty for none. */
  cgroup: string
  /** An overlay the monitor mounts in the run's own mount namespace before the start, gone with the run (a root). */
  overlay?: { target: string, options: string }
  /** Paths made inaccessible in the run's own mount namespace (daemon space, for executables). */
  hide?: string[]
  /** Host paths bound into that namespace after the hiding, so a user can show one on purpose. */
  binds?: Bind[]
  /** The process's stdin: a pipe its attached reader writes into (-i), or a terminal its monitor opens (-t). */
  input?: 'pipe' | 'tty'
  /**
   * For an OCI runtime whose `argv` is its `run --detach`, which exits once the container's process runs: where it
   * writes that process's PID. The monitor then supervises the container's process itself.
   */
  adopt?: Adopt
  /** The signal a stop sends, as the driver resolved it (a container's --stop-signal, else its image's); SIGTERM when unset. */
  stopSignal?: string
  /** The run's address on the node's network (a VM's), when it has one. */
  address?: string
  /** How a VM's run begins: booted, or restored from a saved VM of its image. */
  boot?: 'cold' | 'warm'
}

/** A container started by a runtime that exits at once and leaves its process to the monitor (`runc run --detach`). */
export interface Adopt {
  pidFile: string
  /** Where the runtime hands over the container's terminal (its --console-socket); the monitor keeps it. */
  consoleSocket?: string
  /** For a runtime whose `argv` is its `create`: the command that starts the container once the monitor holds its
   * terminal (a container on a terminal of its own: its first keys and signals must find the terminal ready). */
  start?: string[]
}

/** How one run ended, as its monitor recorded it. */
export interface RunEnd {
  exitCode: number | null
  signal: string | null
  finishedAt?: string
  error?: string
  /** The runtime's step that failed before the workload's process ran (a container's run), its exit code the runtime's. */
  failedAt?: 'run'
}

/** How the task stands, as its driver sees it. */
export interface TaskState {
  status: 'running' | 'stopped'
  pid: number
}

/** What a stop is given: how long the gentle way may take, and what settles once the run has ended. */
export interface StopRequest {
  /** 0 forces the stop at once. */
  timeoutMs: number
  exited: Promise<unknown>
}

/** A command to run inside a running workload: added environment, and a working directory when not empty. */
export interface EnterRequest {
  command: string[]
  env: Record<string, string>
  workdir: string
  /** The command gets a terminal of its own, its size and input from the one it is run from. */
  tty?: boolean
  /** That terminal's size when the command starts (the one it is run from has it). */
  size?: { rows: number, cols: number }
  /** The caller runs the command itself, on its own terminal: the runtime's messages go there too. */
  byCaller?: boolean
  /** The plan returns once the command has started (0), or fails as a command that could not run; its output is discarded. */
  detach?: boolean
}

/** What the node runs to enter a workload, and how to read why the command did not start once it has ended. */
export interface EnterPlan {
  argv: string[]
  env: Record<string, string>
  /** Written to the command's fd PROCESS_FD (common/process-fd.ts), then closed: the process the runtime runs. */
  process?: string
  /** The runtime's own failure (a command missing inside), with Docker's exit codes; undefined when the command ran. */
  explain?: (exitCode: number | null) => Promise<{ exitCode: number, error: string } | undefined>
  /** Whether a chunk of stderr is the runtime's own complaint (held back, and dropped when explain gives the reason). */
  runtimeSays?: (text: string) => boolean
}

/** One kind of workload. Method syntax on purpose: a driver of one kind stands in the registry of all kinds. */
export interface WorkloadDriver<S extends WorkloadSpec = WorkloadSpec> {
  readonly kind: S['kind']
  /**
   * Makes what a start needs (a cgroup, an image's root, a network) and says what the monitor runs. `signal` ends
   * what the start waits on (a pull) once the client that asked for it has gone; restarts have none.
   */
  prepare (task: Task<S>, signal?: AbortSignal): Promise<LaunchPlan>
  /**
   * Ends the run its own way (SIGTERM to a process group; a guest's power button), by force once `timeoutMs` has
   * passed without `exited` settling. Also frees a run cut short whose process is unknown (pid 0).
   */
  stop (task: Task<S>, request: StopRequest): Promise<void>
  /** Delivers a signal to the workload, as its kind understands one. */
  signal (task: Task<S>, sig: NodeJS.Signals): void
  state (task: Task<S>): TaskState
  /**
   * Reads a run's end: what the exit status does not say (a runtime that could not start the process, a kill by
   * the OOM killer, given `oomKills` counted in the workload's cgroup during the run).
   */
  explain (task: Task<S>, end: RunEnd, oomKills: number): Promise<RunEnd & { oomKilled: boolean }>
  /** Frees what prepare made, once the run has ended; with `forget` (the workload is removed), also what outlives runs. */
  release (task: Task<S>, forget?: boolean): Promise<void>
  /** The cgroup whose counters account for the workload (OOM kills); empty for none. */
  cgroupOf (task: Task<S>): string
  /** What the node runs to start a command inside the running workload (its namespaces, cgroup, user, env), as `docker exec`. */
  enter (task: Task<S>, request: EnterRequest): Promise<EnterPlan>
  /** Where the last run's console is kept, for a kind that has one (a VM's serial console). */
  consoleOf? (task: Task<S>): string
}

/** A registry with exactly one driver for every kind. */
export type Drivers = { [K in WorkloadKind]: WorkloadDriver<SpecOf<K>> }
