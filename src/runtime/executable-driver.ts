// Plain executables in cells: a cgroup of their own, or an allocated cell they share.
import { FailedPreconditionError } from '../errors.ts'
import type { Cgroups } from './cgroups.ts'
import { cellGroup, ownGroup } from './cell.ts'
import { DEFAULT_PATH, type LaunchPlan, type WorkloadDriver } from './driver.ts'
import type { WorkloadRecord } from './workload.ts'


export interface ExecutableDriverInit {
  cgroups: Cgroups
  /** True when the named cell is allocated. */
  cellExists: (name: string) => boolean
  /** Daemon space: made inaccessible in every executable's mount namespace (see daemon-space.ts). */
  hidden: string[]
}

export function executableDriver ({ cgroups, cellExists, hidden }: ExecutableDriverInit): WorkloadDriver {
  const cgroupOf = (rec: WorkloadRecord): string => {
    if (cgroups.version === 'none') return ''
    return rec.spec.cell === '' ? ownGroup(rec.spec.name) : cellGroup(rec.spec.cell)
  }
  return {
    kind: 'executable',
    cgroupOf,
    async prepare (rec): Promise<LaunchPlan> {
      const { spec } = rec
      const limited = spec.limits.cpus > 0 || spec.limits.memoryBytes > 0 || spec.limits.pids > 0
      if (cgroups.version === 'none' && limited) throw new FailedPreconditionError(`cannot enforce limits: ${cgroups.reason}`)
      if (spec.cell !== '') {
        if (!cellExists(spec.cell)) throw new FailedPreconditionError(`cell ${spec.cell} is not allocated`)
      } else if (cgroups.version !== 'none') {
        cgroups.create(ownGroup(spec.name), spec.limits)
      }
      return {
        argv: spec.command,
        env: {
          PATH: process.env.PATH ?? DEFAULT_PATH,
          HOME: process.env.HOME ?? '/',
          ...(process.env.LANG !== undefined ? { LANG: process.env.LANG } : {}),
          AURAE_WORKLOAD: spec.name,
          ...spec.env
        },
        workdir: spec.workdir === '' ? '/' : spec.workdir,
        cgroup: cgroupOf(rec),
        hide: hidden,
        binds: spec.binds ?? []
      }
    },
    async release (rec) {
      if (rec.spec.cell === '') await cgroups.remove(ownGroup(rec.spec.name))
    }
  }
}
