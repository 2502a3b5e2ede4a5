// The original Aurae's cells (aurae.cells.v0) as this node keeps them: `/`-separated paths of names, a cgroup each
// (nested in its parent's) under the node's own folder, and executables that are the supervisor's workloads.
import { FailedPreconditionError } from '../errors.ts'
import { childrenOf } from './proc.ts'
import type { OriginalExecutable, WorkloadSpec } from './workload.ts'

/** A cell's controllers, each field as the client gave it (left out: not set). */
export interface OriginalCellLimits {
  cpu?: { weight?: number, max?: number, period?: number }
  cpuset?: { cpus?: string, mems?: string }
  memory?: { min?: number, low?: number, high?: number, max?: number }
}

/** A cell as Allocate asks for it, its name normalized. */
export interface OriginalCellSpec extends OriginalCellLimits {
  name: string
  isolateProcess: boolean
  isolateNetwork: boolean
}

export interface OriginalCellRecord extends OriginalCellSpec {
  createdAt: number
}

/** The folder, under the node's own in every hierarchy, that holds the original's cells: no cell or workload of the
 * node's own API (`cell-*`, `wl-*`, `ct-*`, `vm-*`) can take it. */
export const ORIGINAL_ROOT = 'aurae.cells.v0'

const PART = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/
const EXECUTABLE = /^[a-zA-Z0-9_.-]+$/
/** The longest workload name (names/parse.ts). */
const WORKLOAD_NAME_MAX = 128

/** The cgroup of a cell (`aurae.cells.v0/a/b`), relative to the node's folder. */
export const originalGroup = (cell: string): string => `${ORIGINAL_ROOT}/${cell}`

/** Checks a cell's path as the original does, forgiving a `/` at either end: each part [a-zA-Z0-9-]{1,63}, not
 * starting or ending with `-`. */
export function parseCellName (text: string): string {
  const name = text.replace(/^\/+|\/+$/g, '')
  if (name === '') throw new FailedPreconditionError('cell name is required')
  for (const part of name.split('/')) {
    if (!PART.test(part)) throw new FailedPreconditionError(`invalid cell name "${text}": each part of a/b must be 1 to 63 letters, digits or "-", not starting or ending with "-"`)
  }
  return name
}

/** The cell a nested cell is in (`a` for `a/b`); empty for a cell at the top. */
export function parentOf (cell: string): string {
  const slash = cell.lastIndexOf('/')
  return slash < 0 ? '' : cell.slice(0, slash)
}

/** Checks an executable's name: what a workload name may hold after its cell's part. */
export function assertExecutableName (name: string): string {
  if (name === '') throw new FailedPreconditionError('executable name is required')
  if (!EXECUTABLE.test(name)) throw new FailedPreconditionError(`invalid executable name "${name}": use letters, digits, "_", "." or "-"`)
  return name
}

/**
 * The workload an executable is: its cell's parts joined by `.`, `_`, its name (`a.b_web` for web in a/b). Parts
 * hold neither `.` nor `_`, so the first `_` ends the cell, and no two executables share a workload name.
 */
export function workloadNameOf (cell: string, executable: string): string {
  const name = `${cell.replaceAll('/', '.')}_${executable}`
  if (name.length > WORKLOAD_NAME_MAX) throw new FailedPreconditionError(`cell ${cell} and executable ${executable} make a workload name longer than ${WORKLOAD_NAME_MAX} characters (${name.length})`)
  return name
}

/** The name a workload's output goes by on the original's channels (`<executable>::stdout`): its name in its cell,
 * for an executable of the original's cells; its own name otherwise. */
export function executableNameOf (spec: WorkloadSpec): string {
  return spec.kind === 'executable' && spec.original !== undefined ? spec.original.executable : spec.name
}

/**
 * What runs an executable's `command` as its cell and Start ask: unshare for its namespaces (forking it as PID 1 of
 * a pid namespace of its own, with a /proc of its own), the loopback brought up in a network namespace of its own,
 * then setpriv to its user and group when they are not the node's own. Root's steps come before the drop.
 */
export function originalArgv (o: OriginalExecutable, command: string[], own = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }): string[] {
  const flags = [...o.isolateProcess ? ['--pid', '--fork', '--kill-child', '--mount-proc', '--ipc', '--uts'] : [], ...o.isolateNetwork ? ['--net'] : []]
  const unshare = flags.length > 0 ? ['unshare', ...flags, '--'] : []
  const loopback = o.isolateNetwork ? ['/bin/sh', '-c', 'ip link set lo up 2>/dev/null; exec "$@"', 'sh'] : []
  const user = o.uid !== own.uid || o.gid !== own.gid ? ['setpriv', `--reuid=${o.uid}`, `--regid=${o.gid}`, '--clear-groups', '--'] : []
  return [...unshare, ...loopback, ...user, ...command]
}

/**
 * What `aurae exec` enters to run a command beside a workload started as `pid`: its mount namespace (where daemon
 * space is hidden) and, for an executable of an isolated cell, the namespaces its cell gave it, through the process
 * that has them (in a pid namespace of its own, the one unshare forked).
 */
export function namespacesOf (spec: WorkloadSpec, pid: number): { target: number, flags: string[] } {
  const o = spec.kind === 'executable' ? spec.original : undefined
  if (o === undefined) return { target: pid, flags: ['--mount'] }
  const flags = ['--mount', ...o.isolateProcess ? ['--pid', '--ipc', '--uts'] : [], ...o.isolateNetwork ? ['--net'] : []]
  return { target: o.isolateProcess ? executablePid(spec, pid) || pid : pid, flags }
}

/**
 * The PID of the executable's own process, as the host sees it: the monitor's child, or in a pid namespace of its
 * own the process unshare forked (PID 1 there); 0 while that one is not there yet, or no longer.
 */
export function executablePid (spec: WorkloadSpec, pid: number): number {
  if (spec.kind !== 'executable' || spec.original?.isolateProcess !== true || pid === 0) return pid
  return childrenOf(pid)[0] ?? 0
}
