import { describe, expect, it } from 'vitest'
import { FailedPreconditionError } from '../../../src/errors.ts'
import { encodeJob, parseGuestEnd, type GuestJob } from '../../../src/runtime/vm/job.ts'
import { guestCpus, guestMemoryMb } from '../../../src/runtime/vm/vm-driver.ts'

const job = (o: Partial<GuestJob> = {}): GuestJob => ({
  root: '/run/aurae/image', argv: ['sh', '-c', 'echo "a b"'], env: ['PATH=/bin', 'X=two  spaces'], workdir: '/srv', uid: 1000, gid: 100, groups: [10, 20],
  binds: [{ source: '/run/aurae/vol0', target: '/data', readOnly: true }], memoryBytes: 32 * 2 ** 20, pids: 5, stopSignal: 15, hostname: 'web', ...o
})

describe('a VM\'s job', () => {
  it('is NUL-ended words, each key before its values, so nothing needs quoting', () => {
    const words = encodeJob(job()).toString().split('\0')
    expect(words.pop()).toBe('')
    expect(words).toEqual(['root', '/run/aurae/image', 'arg', 'sh', 'arg', '-c', 'arg', 'echo "a b"', 'env', 'PATH=/bin', 'env', 'X=two  spaces',
      'workdir', '/srv', 'uid', '1000', 'gid', '100', 'groups', '10,20', 'bind', '/run/aurae/vol0', '/data', 'ro',
      'memory', String(32 * 2 ** 20), 'pids', '5', 'stopsignal', '15', 'hostname', 'web'])
  })

  it('refuses no command and a NUL, in one line', () => {
    expect(() => encodeJob(job({ argv: [] }))).toThrow(FailedPreconditionError)
    expect(() => encodeJob(job({ env: ['A=x\0y'] }))).toThrow(/may not hold a NUL/)
  })
})

describe('a VM\'s end, as its PID 1 says it on the status port', () => {
  it('reads an exit, a signal, the OOM kills and why the command could not run', () => {
    expect(parseGuestEnd('exit 3 0\n')).toEqual({ exitCode: 3, signal: null, oomKills: 0 })
    expect(parseGuestEnd('signal 9 1\n')).toEqual({ exitCode: null, signal: 9, oomKills: 1 })
    expect(parseGuestEnd('started\nexit 0 0\n')).toEqual({ exitCode: 0, signal: null, oomKills: 0 })
    expect(parseGuestEnd('error exec "/no/such": no such file or directory\nexit 127 0\n')).toEqual({ exitCode: 127, signal: null, oomKills: 0, error: 'exec "/no/such": no such file or directory' })
  })

  it('is nothing when the guest never said it (killed, or crashed first)', () => {
    expect(parseGuestEnd('')).toBeUndefined()
    expect(parseGuestEnd('exit 3')).toBeUndefined()
    expect(parseGuestEnd('error half a line')).toBeUndefined()
    expect(parseGuestEnd('started\n')).toBeUndefined()
  })
})

describe('a VM\'s machine', () => {
  it('has its workload\'s memory on top of what the guest needs, and --cpus rounded up as vCPUs', () => {
    expect(guestMemoryMb(0)).toBe(512)
    expect(guestMemoryMb(32 * 2 ** 20)).toBe(160)
    expect(guestMemoryMb(2 ** 20 + 1)).toBe(130)
    expect(guestCpus(0)).toBe(1)
    expect(guestCpus(0.5)).toBe(1)
    expect(guestCpus(2)).toBe(2)
    expect(guestCpus(2.1)).toBe(3)
  })
})
