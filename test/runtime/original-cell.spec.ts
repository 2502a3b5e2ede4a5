import { describe, expect, it } from 'vitest'
import { FailedPreconditionError } from '../../src/errors.ts'
import { assertWorkloadName } from '../../src/names/parse.ts'
import { assertExecutableName, executableNameOf, originalArgv, parentOf, parseCellName, workloadNameOf } from '../../src/runtime/original-cell.ts'
import type { OriginalExecutable, WorkloadSpec } from '../../src/runtime/workload.ts'

describe('parseCellName', () => {
  it.each([
    ['a', 'a'],
    ['ae-sleeper-cell', 'ae-sleeper-cell'],
    ['ae-sleeper-cell/nested-sleeper', 'ae-sleeper-cell/nested-sleeper'],
    ['/a/b/', 'a/b'],
    ['A1/b-2/C', 'A1/b-2/C'],
    ['x'.repeat(63), 'x'.repeat(63)]
  ])('takes %j as %j', (text, name) => {
    expect(parseCellName(text)).toBe(name)
  })

  it.each(['', '/', 'nope_nope', '-a', 'a-', 'a//b', 'a/-b', 'a.b', 'a b', 'x'.repeat(64), 'é'])('refuses %j as a failed precondition', text => {
    expect(() => parseCellName(text)).toThrow(FailedPreconditionError)
  })
})

describe('parentOf', () => {
  it('is the path up to the last part, empty at the top', () => {
    expect([parentOf('a'), parentOf('a/b'), parentOf('a/b/c')]).toEqual(['', 'a', 'a/b'])
  })
})

describe('workloadNameOf', () => {
  it('joins the cell\'s parts with "." and the executable with "_", a valid workload name', () => {
    expect(workloadNameOf('ae-sleeper-cell/nested', 'sleep-42')).toBe('ae-sleeper-cell.nested_sleep-42')
    expect(assertWorkloadName(workloadNameOf('a/b/c', 'x_y.z'))).toBe('a.b.c_x_y.z')
  })

  it('gives two executables of different cells different names, however they are named', () => {
    expect(workloadNameOf('a', 'b_c')).not.toBe(workloadNameOf('a/b', 'c'))
    expect(workloadNameOf('a-b', 'c')).not.toBe(workloadNameOf('a/b', 'c'))
  })

  it('refuses a pair that would make a name longer than a workload\'s', () => {
    expect(() => workloadNameOf(`${'x'.repeat(63)}/${'y'.repeat(63)}`, 'z')).toThrow(/longer than 128 characters \(129\)/)
  })
})

describe('assertExecutableName', () => {
  it('takes letters, digits, "_", "." and "-"', () => {
    expect(assertExecutableName('sleep-42.v_1')).toBe('sleep-42.v_1')
  })

  it.each(['', 'a/b', 'a b', 'a@b'])('refuses %j', name => {
    expect(() => assertExecutableName(name)).toThrow(FailedPreconditionError)
  })
})

describe('executableNameOf', () => {
  it('is the executable\'s name in its cell for the original\'s, the workload\'s own otherwise', () => {
    const base = { kind: 'executable', name: 'a_web', command: [], env: {}, workdir: '', limits: { cpus: 0, memoryBytes: 0, pids: 0 }, restart: 'no', cell: '' } as const
    const original: OriginalExecutable = { cell: 'a', executable: 'web', uid: 0, gid: 0, isolateProcess: false, isolateNetwork: false }
    expect(executableNameOf({ ...base, original } satisfies WorkloadSpec)).toBe('web')
    expect(executableNameOf(base)).toBe('a_web')
  })
})

describe('originalArgv', () => {
  const own = { uid: 0, gid: 0 }
  const exe = (o: Partial<OriginalExecutable>): OriginalExecutable => ({ cell: 'a', executable: 'x', uid: 0, gid: 0, isolateProcess: false, isolateNetwork: false, ...o })
  const sh = ['/bin/sh', '-c', 'echo hi']

  it('runs the command as it is for a plain cell and the node\'s own user', () => {
    expect(originalArgv(exe({}), sh, own)).toEqual(sh)
  })

  it('drops to the user and group asked with setpriv, without supplementary groups', () => {
    expect(originalArgv(exe({ uid: 1000, gid: 100 }), sh, own)).toEqual(['setpriv', '--reuid=1000', '--regid=100', '--clear-groups', '--', ...sh])
    expect(originalArgv(exe({ gid: 5 }), sh, own)).toEqual(['setpriv', '--reuid=0', '--regid=5', '--clear-groups', '--', ...sh])
  })

  it('forks the command as PID 1 of its own pid namespace, with its own /proc, ipc and uts, before the drop', () => {
    expect(originalArgv(exe({ isolateProcess: true, uid: 7, gid: 7 }), sh, own)).toEqual([
      'unshare', '--pid', '--fork', '--kill-child', '--mount-proc', '--ipc', '--uts', '--',
      'setpriv', '--reuid=7', '--regid=7', '--clear-groups', '--', ...sh
    ])
  })

  it('gives a network of its own with its loopback up, alone or with the rest', () => {
    const lo = ['/bin/sh', '-c', 'ip link set lo up 2>/dev/null; exec "$@"', 'sh']
    expect(originalArgv(exe({ isolateNetwork: true }), sh, own)).toEqual(['unshare', '--net', '--', ...lo, ...sh])
    expect(originalArgv(exe({ isolateNetwork: true, isolateProcess: true }), sh, own).slice(0, 10)).toEqual(['unshare', '--pid', '--fork', '--kill-child', '--mount-proc', '--ipc', '--uts', '--net', '--', '/bin/sh'])
  })
})
