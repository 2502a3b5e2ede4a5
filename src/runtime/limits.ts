// The runtime's limits are the ones users write and the API carries: parsed and checked in one shared module.
export { formatBytes, parseCpus, parseMemory, parsePids, validateLimits, type Limits } from '../common/limits.ts'
