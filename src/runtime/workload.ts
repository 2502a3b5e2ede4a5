// The domain shape of a workload, as the supervisor keeps it and the store persists it.
import type { Limits } from './limits.ts'

/** The kinds of workload a node runs: each is one driver (driver.ts). */
export const WORKLOAD_KINDS = ['executable', 'container', 'vm'] as const
export type WorkloadKind = typeof WORKLOAD_KINDS[number]
export type WorkloadState = 'created' | 'running' | 'restarting' | 'exited'
export type RestartPolicy = 'no' | 'on-failure' | 'always'
export const RESTART_POLICIES: readonly RestartPolicy[] = ['no', 'on-failure', 'always']

interface SpecBase {
  name: string
  limits: Limits
  restart: RestartPolicy
  /** An allocated cell to run in; empty for a cell of its own. */
  cell: string
}

/** A process to run: its command line, environment and working directory. */
interface ProcessSpec {
  command: string[]
  env: Record<string, string>
  workdir: string
}

/** A plain executable on the host, in a mount namespace where the daemon's own files are hidden. */
export interface ExecutableSpec extends SpecBase, ProcessSpec {
  kind: 'executable'
  /** Host paths bound into the workload's mount namespace. */
  binds?: Bind[]
  /** A terminal of its own (exec -t), kept by its monitor. */
  tty?: boolean
  /** Its stdin stays open to the attached caller (exec -i). */
  interactive?: boolean
  /** An executable of the original Aurae's CellService, in one of that API's cells (original-cell.ts); `cell` is then empty. */
  original?: OriginalExecutable
}

/** How the original's CellService started an executable: in which of its cells, under which name, as whom, how isolated. */
export interface OriginalExecutable {
  /** The cell's path (`a/b`). */
  cell: string
  /** Its name in the cell, unique there. */
  executable: string
  uid: number
  gid: number
  /** Its own pid (a /proc of its own), mount, ipc and uts namespaces: unshare forks it as PID 1 there. */
  isolateProcess: boolean
  /** Its own network namespace, loopback only. */
  isolateNetwork: boolean
}

/** A container: `command` overrides the image's Cmd, `env` and `workdir` its own. */
export interface ContainerSpec extends SpecBase, ProcessSpec {
  kind: 'container'
  container: ContainerOptions
}

/**
 * An image run in a micro-VM of its own (vm/vm-driver.ts), with a container's options: its limits are the guest's
 * vCPUs and the workload's memory, which the guest gets on top of what it needs itself.
 */
export interface VmSpec extends SpecBase, ProcessSpec {
  kind: 'vm'
  container: ContainerOptions
  /** A machine of its own disks (the VM service's): booted from its root drive, its own init PID 1; no image. */
  machine?: MachineSpec
  /** A nested node: the guest runs this project's auraed, which its host reaches over the mesh; no image. */
  node?: NestedNodeSpec
}

/** What a nested node's auraed is started with: its key, its name, and the host it trusts. */
export interface NestedNodeSpec {
  /** The guest's key, on the host (made by the host, so the host knows its PeerId before it boots). */
  key: string
  /** `NAME@DOMAIN`, as `auraed --up` takes it. */
  up: string
  /** `PEERID=NAME@DOMAIN` of the host, as `auraed --trust` takes it. */
  trust: string
}

/** A VM as the original's VmService describes it: a kernel, a root drive image and more drives. */
export interface MachineSpec {
  /** The guest's memory, all of it. */
  memoryMb: number
  /** A kernel of the caller's, booted with no initramfs; empty for the node's own (its drives mounted by aurae-init). */
  kernel: string
  kernelArgs: string[]
  rootDrive: { path: string, readOnly: boolean }
  drives: Array<{ path: string, vmPath: string, fsType: string, readOnly: boolean }>
}

/** What the user asked for, one shape per kind; validated before the supervisor sees it. */
export type WorkloadSpec = ExecutableSpec | ContainerSpec | VmSpec

/** How long a stop that names no timeout waits before SIGKILL: a container's --stop-timeout, else Docker's 10 s. */
export function defaultStopTimeoutMs (spec: WorkloadSpec): number {
  return (spec.kind !== 'executable' ? spec.container.stopTimeout ?? 10 : 10) * 1000
}

/** The image a workload runs from (a container's or a VM's); empty for an executable. */
export function imageOf (spec: WorkloadSpec): string {
  return spec.kind === 'executable' ? '' : spec.container.image
}

/** The spec of one kind of workload. */
export type SpecOf<K extends WorkloadKind> = Extract<WorkloadSpec, { kind: K }>

/** A host path made visible at `path` in an executable's view of the filesystem. */
export interface Bind {
  host: string
  path: string
  readOnly: boolean
}

/** How to run a container: its image (full reference) and the options around it. */
export interface ContainerOptions {
  image: string
  entrypoint?: string[]
  user: string
  network: 'bridge' | 'none' | 'host'
  volumes: Array<{ host: string, container: string, readOnly: boolean }>
  ports: Array<{ hostPort: number, containerPort: number, protocol: 'tcp' | 'udp', hostIP: string }>
  /** `unconfined` runs it without the default seccomp filter; unset means the filter. */
  seccomp?: 'unconfined'
  /** The signal that stops it (`SIGINT`); unset for the image's StopSignal, else SIGTERM. */
  stopSignal?: string
  /** Seconds a stop that names no timeout waits before SIGKILL; unset for the node's default. */
  stopTimeout?: number
  /** A terminal for its process (run -t), kept by its monitor. */
  tty?: boolean
  /** Its stdin stays open to the attached caller (run -i). */
  interactive?: boolean
}

export interface WorkloadRecord {
  spec: WorkloadSpec
  state: WorkloadState
  /** What the user wants: a stopped workload is not restarted. */
  desired: 'running' | 'stopped'
  /** Increments on every start; names the run's exit file. */
  run: number
  pid: number
  pidStart: number
  monitorPid: number
  monitorStart: number
  exitCode: number | null
  signal: string | null
  oomKilled: boolean
  error: string
  restarts: number
  /** Quick failures in a row, for the restart backoff. */
  streak: number
  oomBase: number
  createdAt: number
  startedAt: number
  finishedAt: number
  /** The signal a stop sends, as the driver resolved it at the last start (unset: SIGTERM). */
  stopSignal?: string
  /** The last start's address on the node's network, when the driver gave one (a VM's). */
  address?: string
  /** How the last start of a VM began (driver.ts's LaunchPlan.boot). */
  boot?: 'cold' | 'warm'
  /** The last changes of state, oldest first (records from before it was kept have none). */
  history?: Array<{ state: WorkloadState, at: number, run?: number }>
}

/** How many changes of state a record keeps: enough to see a restart loop, never growing without bound. */
const HISTORY = 20

/** Moves the record to `state`, noting the change in its short history. */
export function enterState (rec: WorkloadRecord, state: WorkloadState, now = Date.now()): void {
  rec.state = state
  rec.history = [...(rec.history ?? []), { state, at: now, run: rec.run }].slice(-HISTORY)
}

/** The record of a workload just asked for: created, not yet started. */
export function createdRecord (spec: WorkloadSpec, now = Date.now()): WorkloadRecord {
  return {
    spec,
    state: 'created',
    desired: 'running',
    run: 0,
    pid: 0,
    pidStart: 0,
    monitorPid: 0,
    monitorStart: 0,
    exitCode: null,
    signal: null,
    oomKilled: false,
    error: '',
    restarts: 0,
    streak: 0,
    oomBase: 0,
    createdAt: now,
    startedAt: 0,
    finishedAt: 0,
    history: [{ state: 'created', at: now }]
  }
}
