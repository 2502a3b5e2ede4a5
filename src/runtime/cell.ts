// Cells: named groups with shared limits that executables can be started in.
import type { Limits } from './limits.ts'

export interface CellRecord {
  name: string
  limits: Limits
  createdAt: number
  /** A VM of its own (a nested node of the same name) instead of a cgroup here. */
  isolation?: 'vm'
}

/** The cgroup directory of a user-allocated cell. */
export const cellGroup = (name: string): string => `cell-${name}`

/** The cgroup directory of a workload that has a cell of its own. */
export const ownGroup = (workload: string): string => `wl-${workload}`
/** A VM's cgroup on the host: qemu, its virtiofsds and the shell that started them, held to --cpus. */
export const vmGroup = (workload: string): string => `vm-${workload}`
