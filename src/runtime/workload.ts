// The domain shape of a workload, as the supervisor keeps it and the store persists it.
import type { Limits } from './limits.ts'

export type WorkloadKind = 'executable' | 'container'
export type WorkloadState = 'created' | 'running' | 'restarting' | 'exited'
export type RestartPolicy = 'no' | 'on-failure' | 'always'
export const RESTART_POLICIES: readonly RestartPolicy[] = ['no', 'on-failure', 'always']

/** What the user asked for; validated before the supervisor sees it. */
export interface WorkloadSpec {
  name: string
  kind: WorkloadKind
  command: string[]
  env: Record<string, string>
  workdir: string
  limits: Limits
  restart: RestartPolicy
  /** An allocated cell to run in; empty for a cell of its own. */
  cell: string
  container?: ContainerSpec
  /** Executables: host paths bound into the workload's mount namespace, where the daemon's own files are hidden. */
  binds?: Bind[]
}

/** A host path made visible at `path` in an executable's view of the filesystem. */
export interface Bind {
  host: string
  path: string
  readOnly: boolean
}

/** How to run a container: its image (full reference) and the options around it. */
export interface ContainerSpec {
  image: string
  entrypoint?: string[]
  user: string
  network: 'bridge' | 'none' | 'host'
  volumes: Array<{ host: string, container: string, readOnly: boolean }>
  ports: Array<{ hostPort: number, containerPort: number, protocol: 'tcp' | 'udp', hostIP: string }>
  /** `unconfined` runs it without the default seccomp filter; unset means the filter. */
  seccomp?: 'unconfined'
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
}
