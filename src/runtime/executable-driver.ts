// Plain executables in cells: a cgroup of their own, or an allocated cell they share (the node's, or the original's).
import { FailedPreconditionError } from '../errors.ts'
import type { Cgroups } from './cgroups.ts'
import { cellGroup, ownGroup } from './cell.ts'
import { namespacesOf, originalArgv, originalGroup } from './original-cell.ts'
import { DEFAULT_PATH, type LaunchPlan, type Task, type WorkloadDriver } from './driver.ts'
import type { ExecutableSpec } from './workload.ts'
import { groupState, oomKilled, signalGroup, stopGroup } from './process-group.ts'

export interface ExecutableDriverInit {
  cgroups: Cgroups
  /** Throws unless the named cell is allocated and runs its executables here (Cells.assertHere). */
  assertCell: (name: string) => void
  /** Daemon space: made inaccessible in every executable's mount namespace (see daemon-space.ts). */
  hidden: string[]
}

/** The environment an executable runs with, and commands run inside it too. */
function envOf (spec: ExecutableSpec): Record<string, string> {
  return {
    PATH: process.env.PATH ?? DEFAULT_PATH,
    HOME: process.env.HOME ?? '/',
    ...(process.env.LANG !== undefined ? { LANG: process.env.LANG } : {}),
    AURAE_WORKLOAD: spec.name,
    ...spec.env
  }
}

/** exec -d's command inside the workload: 127/126 when COMMAND cannot be run, else 0 once it runs in a session of its own. */
const DETACHED = 'case $1 in */*) [ -e "$1" ] || exit 127; [ -x "$1" ] || exit 126;; *) command -v "$1" >/dev/null || exit 127;; esac; setsid "$@" </dev/null >/dev/null 2>&1 &'

export function executableDriver ({ cgroups, assertCell, hidden }: ExecutableDriverInit): WorkloadDriver<ExecutableSpec> {
  const cgroupOf = ({ spec }: Task<ExecutableSpec>): string => {
    if (cgroups.version === 'none') return ''
    if (spec.original !== undefined) return originalGroup(spec.original.cell)
    return spec.cell === '' ? ownGroup(spec.name) : cellGroup(spec.cell)
  }
  /** A workload in a cgroup of its own, which goes with it; not one in a cell (the node's or the original's). */
  const ownsGroup = (spec: ExecutableSpec): boolean => spec.cell === '' && spec.original === undefined
  return {
    kind: 'executable',
    cgroupOf,
    async prepare (task): Promise<LaunchPlan> {
      const { spec } = task
      const limited = spec.limits.cpus > 0 || spec.limits.memoryBytes > 0 || spec.limits.pids > 0
      if (cgroups.version === 'none' && limited) throw new FailedPreconditionError(`cannot enforce limits: ${cgroups.reason}`)
      if (spec.cell !== '') {
        assertCell(spec.cell)
      } else if (spec.original !== undefined) {
        if (!cgroups.hasGroup(cgroupOf(task))) throw new FailedPreconditionError(`cell ${spec.original.cell} has no cgroup on this host`)
      } else if (cgroups.version !== 'none') {
        cgroups.create(ownGroup(spec.name), spec.limits)
      }
      return {
        argv: spec.original !== undefined ? originalArgv(spec.original, spec.command) : spec.command,
        env: envOf(spec),
        workdir: spec.workdir === '' ? '/' : spec.workdir,
        cgroup: cgroupOf(task),
        hide: hidden,
        binds: spec.binds ?? [],
        input: spec.tty === true ? 'tty' : spec.interactive === true ? 'pipe' : undefined
      }
    },
    // A workload in a cell of its own takes what it left in the cell with it; one in a shared cell only itself.
    async stop (task, request) {
      await stopGroup(task, request, async () => {
        if (ownsGroup(task.spec) && cgroupOf(task) !== '') await cgroups.killAll(cgroupOf(task))
      })
    },
    // Its cgroup first (a shell writes its own PID there, then execs), then its mount namespace, in which the
    // daemon's files are hidden (and an isolated original cell's other namespaces).
    async enter (task, request) {
      const cgroup = cgroupOf(task)
      const procs = cgroup === '' ? [] : cgroups.procsFiles(cgroup)
      const join = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n-1)); done; exec "$@"'
      const wd = request.workdir !== '' ? request.workdir : task.spec.workdir === '' ? '/' : task.spec.workdir
      const command = request.detach === true ? ['/bin/sh', '-c', DETACHED, 'sh', ...request.command] : request.command
      const ns = namespacesOf(task.spec, task.pid)
      return {
        argv: ['/bin/sh', '-c', join, 'sh', String(procs.length), ...procs, 'nsenter', `--target=${ns.target}`, ...ns.flags, `--wd=${wd}`, '--', ...command],
        env: { ...envOf(task.spec), ...request.env },
        ...(request.detach === true ? { explain: async code => code === 126 || code === 127 ? { exitCode: code, error: `cannot run ${request.command[0]}: ${code === 127 ? 'not found' : 'permission denied'}` } : undefined } : {})
      }
    },
    signal: signalGroup,
    state: groupState,
    async explain (_task, end, oomKills) {
      return { ...end, oomKilled: oomKilled(oomKills) }
    },
    // Nothing of an executable outlives its run: its removal has nothing more to free.
    async release ({ spec }, forget) {
      if (forget !== true && ownsGroup(spec)) await cgroups.remove(ownGroup(spec.name))
    }
  }
}
