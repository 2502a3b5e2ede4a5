// The runtime's limits are the ones users write and the API carries: parsed and checked in one shared module.
/** The CFS period a cell's CPU quota is given in, when it names none: the kernel's own default, in microseconds. */
export const CPU_PERIOD_US = 100_000

export { formatBytes, parseCpus, parseMemory, parsePids, validateLimits, type Limits } from '../common/limits.ts'
