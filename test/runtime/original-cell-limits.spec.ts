import { describe, expect, it } from 'vitest'
import { FailedPreconditionError } from '../../src/errors.ts'
import { cgroupFiles, sharesOf, validateLimits } from '../../src/runtime/original-cell-limits.ts'

describe('sharesOf', () => {
  it('converts a v2 weight to v1 shares as runc and systemd do', () => {
    expect([1, 2, 100, 5000, 10_000].map(sharesOf)).toEqual([2, 28, 2597, 131_059, 262_144])
  })
})

describe('validateLimits', () => {
  it('takes what the original takes', () => {
    expect(() => validateLimits({})).not.toThrow()
    expect(() => validateLimits({ cpu: { weight: 1, max: 1000, period: 1_000_000 }, cpuset: { cpus: '0-1,3', mems: '0' }, memory: { min: 0, low: 1, high: 2, max: 3 } })).not.toThrow()
  })

  it.each([
    [{ cpu: { weight: 0 } }, 'cpu weight 0 is out of range: 1 to 10000'],
    [{ cpu: { weight: 10_001 } }, 'cpu weight 10001 is out of range: 1 to 10000'],
    [{ cpu: { max: -1 } }, 'cpu max -1 is too small: at least 1000 microseconds'],
    [{ cpu: { period: 999 } }, 'cpu period 999 is out of range: 1000 to 1000000 microseconds'],
    [{ cpuset: { cpus: '' } }, 'cpuset cpus "" is malformed: expected a list such as 0-1,3'],
    [{ cpuset: { cpus: '3-1' } }, 'cpuset cpus "3-1" is malformed: expected a list such as 0-1,3'],
    [{ cpuset: { mems: '1..4' } }, 'cpuset mems "1..4" is malformed: expected a list such as 0-1,3'],
    [{ memory: { high: -5 } }, 'memory high -5 is negative']
  ])('refuses %j: %s', (limits, message) => {
    expect(() => validateLimits(limits)).toThrow(new FailedPreconditionError(message))
  })
})

describe('cgroupFiles', () => {
  const all = { cpu: { weight: 100, max: 50_000, period: 200_000 }, cpuset: { cpus: '0', mems: '0' }, memory: { high: 2048, max: 4096 } }

  it('writes each controller by its own name on cgroup v2', () => {
    expect(cgroupFiles({ ...all, memory: { min: 1, low: 2, high: 3, max: 4 } }, 'v2')).toEqual([
      { controller: 'cpu', file: 'cpu.weight', value: '100' },
      { controller: 'cpu', file: 'cpu.max', value: '50000 200000' },
      { controller: 'cpuset', file: 'cpuset.cpus', value: '0' },
      { controller: 'cpuset', file: 'cpuset.mems', value: '0' },
      { controller: 'memory', file: 'memory.min', value: '1' },
      { controller: 'memory', file: 'memory.low', value: '2' },
      { controller: 'memory', file: 'memory.high', value: '3' },
      { controller: 'memory', file: 'memory.max', value: '4' }
    ])
    expect(cgroupFiles({ cpu: { period: 50_000 } }, 'v2')).toEqual([{ controller: 'cpu', file: 'cpu.max', value: 'max 50000' }])
    expect(cgroupFiles({ cpu: { max: 20_000 } }, 'v2')).toEqual([{ controller: 'cpu', file: 'cpu.max', value: '20000 100000' }])
  })

  it('maps them onto cgroup v1: shares, the CFS period before its quota, the cpuset hierarchy, limit and soft limit', () => {
    expect(cgroupFiles(all, 'v1')).toEqual([
      { controller: 'cpu', file: 'cpu.shares', value: '2597' },
      { controller: 'cpu', file: 'cpu.cfs_period_us', value: '200000' },
      { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '50000' },
      { controller: 'cpuset', file: 'cpuset.cpus', value: '0' },
      { controller: 'cpuset', file: 'cpuset.mems', value: '0' },
      { controller: 'memory', file: 'memory.limit_in_bytes', value: '4096' },
      { controller: 'memory', file: 'memory.soft_limit_in_bytes', value: '2048' }
    ])
  })

  it('writes nothing for controllers left out', () => {
    expect(cgroupFiles({}, 'v1')).toEqual([])
    expect(cgroupFiles({ cpu: {}, cpuset: {}, memory: {} }, 'v2')).toEqual([])
  })

  it.each(['min', 'low'] as const)('refuses memory %s on cgroup v1, which has no counterpart, naming it', field => {
    expect(() => cgroupFiles({ memory: { [field]: 0 } }, 'v1')).toThrow(new FailedPreconditionError(`memory ${field} cannot be set on this host: cgroup v1 has no memory protection (memory.${field} is cgroup v2's)`))
  })
})
