import { describe, expect, it } from 'vitest'
import { runtimeFailure } from '../../../src/runtime/container/container-driver.ts'

const line = (level: string, msg: string): string => JSON.stringify({ level, msg, time: '2026-11-25T06:57:20Z' })

describe('runtimeFailure', () => {
  it('says 127 for a command that does not exist, as runc words it', () => {
    const log = line('error', 'runc run failed: unable to start container process: exec: "/nope": stat /nope: no such file or directory')
    expect(runtimeFailure(log)).toEqual({ exitCode: 127, error: 'cannot start the container\'s process: exec: "/nope": stat /nope: no such file or directory' })
  })

  it('says 126 for one that cannot be run', () => {
    expect(runtimeFailure(line('error', 'runc run failed: unable to start container process: exec: "/etc": permission denied'))?.exitCode).toBe(126)
    expect(runtimeFailure(line('error', 'runc run failed: unable to start container process: exec: "/bin/x": exec format error'))?.exitCode).toBe(126)
  })

  it('takes crun\'s wording too, and 125 for other start failures', () => {
    expect(runtimeFailure(line('error', 'executable file `nope` not found in $PATH: No such file or directory'))?.exitCode).toBe(127)
    expect(runtimeFailure(line('error', 'runc run failed: unable to start container process: error during container init: error mounting "proc"'))?.exitCode).toBe(125)
  })

  it('says 125 when the runtime could not make the container at all', () => {
    expect(runtimeFailure(line('error', 'runc run failed: invalid file system type on \'/sys/fs/cgroup\''))).toEqual({ exitCode: 125, error: 'the runtime could not make the container: invalid file system type on \'/sys/fs/cgroup\'' })
  })

  it('leaves the workload\'s own exit alone when the process did start', () => {
    expect(runtimeFailure('')).toBeUndefined()
    expect(runtimeFailure(line('warning', 'unable to start container process: nothing really'))).toBeUndefined()
    expect(runtimeFailure(line('error', 'failed to remove cgroup paths'))).toBeUndefined()
    expect(runtimeFailure('not json\n' + line('info', 'hello'))).toBeUndefined()
  })
})
