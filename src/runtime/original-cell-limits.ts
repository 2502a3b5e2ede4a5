// The controllers of the original's cells: checked as it checks them, and written as cgroup files, by name on
// cgroup v2 and mapped onto v1 where the host has only v1 (README: "The original Aurae's cells").
import { FailedPreconditionError } from '../errors.ts'
import { CPU_PERIOD_US } from './limits.ts'
import type { OriginalCellLimits } from './original-cell.ts'

/** One value to write into a cell's group: the hierarchy (v1) or controller (v2) it belongs to, the file, the value. */
export interface CgroupFile {
  controller: 'cpu' | 'cpuset' | 'memory'
  file: string
  value: string
}

/** The kernel's bounds for a CFS period and quota, in microseconds. */
const PERIOD_MIN_US = 1000
const PERIOD_MAX_US = 1_000_000
const QUOTA_MIN_US = 1000
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/

/** Refuses controllers the original refuses, and values the kernel would: each with a one-line reason. */
export function validateLimits ({ cpu, cpuset, memory }: OriginalCellLimits): void {
  if (cpu?.weight !== undefined && !(Number.isInteger(cpu.weight) && cpu.weight >= 1 && cpu.weight <= 10_000)) {
    throw new FailedPreconditionError(`cpu weight ${cpu.weight} is out of range: 1 to 10000`)
  }
  if (cpu?.max !== undefined && cpu.max < QUOTA_MIN_US) throw new FailedPreconditionError(`cpu max ${cpu.max} is too small: at least ${QUOTA_MIN_US} microseconds`)
  if (cpu?.period !== undefined && (cpu.period < PERIOD_MIN_US || cpu.period > PERIOD_MAX_US)) {
    throw new FailedPreconditionError(`cpu period ${cpu.period} is out of range: ${PERIOD_MIN_US} to ${PERIOD_MAX_US} microseconds`)
  }
  for (const [field, list] of [['cpus', cpuset?.cpus], ['mems', cpuset?.mems]] as const) {
    if (list !== undefined && !isCpuList(list)) throw new FailedPreconditionError(`cpuset ${field} "${list}" is malformed: expected a list such as 0-1,3`)
  }
  for (const field of ['min', 'low', 'high', 'max'] as const) {
    const value = memory?.[field]
    if (value !== undefined && value < 0) throw new FailedPreconditionError(`memory ${field} ${value} is negative`)
  }
}

/** `0-1,3`: numbers and ascending ranges. */
function isCpuList (list: string): boolean {
  return CPU_LIST.test(list) && list.split(',').every(r => {
    const [lo, hi = lo] = r.split('-').map(Number)
    return lo <= hi
  })
}

/** cgroup v1's cpu.shares for a v2 weight, as runc and systemd convert it: 1 → 2, 100 → 2597, 10000 → 262144. */
export function sharesOf (weight: number): number {
  return 2 + Math.floor(((weight - 1) * 262_142) / 9_999)
}

/** The files that set a cell's controllers, in the order they are written; limits v1 has no counterpart for are refused. */
export function cgroupFiles ({ cpu, cpuset, memory }: OriginalCellLimits, version: 'v1' | 'v2'): CgroupFile[] {
  const files: CgroupFile[] = []
  const add = (controller: CgroupFile['controller'], file: string, value: number | string | undefined): void => {
    if (value !== undefined) files.push({ controller, file, value: String(value) })
  }
  if (version === 'v2') {
    add('cpu', 'cpu.weight', cpu?.weight)
    if (cpu?.max !== undefined || cpu?.period !== undefined) add('cpu', 'cpu.max', `${cpu.max ?? 'max'} ${cpu.period ?? CPU_PERIOD_US}`)
    add('cpuset', 'cpuset.cpus', cpuset?.cpus)
    add('cpuset', 'cpuset.mems', cpuset?.mems)
    for (const field of ['min', 'low', 'high', 'max'] as const) add('memory', `memory.${field}`, memory?.[field])
    return files
  }
  for (const field of ['min', 'low'] as const) {
    if (memory?.[field] !== undefined) throw new FailedPreconditionError(`memory ${field} cannot be set on this host: cgroup v1 has no memory protection (memory.${field} is cgroup v2's)`)
  }
  add('cpu', 'cpu.shares', cpu?.weight === undefined ? undefined : sharesOf(cpu.weight))
  // The period first: the quota is checked against it.
  add('cpu', 'cpu.cfs_period_us', cpu?.period)
  add('cpu', 'cpu.cfs_quota_us', cpu?.max)
  add('cpuset', 'cpuset.cpus', cpuset?.cpus)
  add('cpuset', 'cpuset.mems', cpuset?.mems)
  add('memory', 'memory.limit_in_bytes', memory?.max)
  add('memory', 'memory.soft_limit_in_bytes', memory?.high)
  return files
}
