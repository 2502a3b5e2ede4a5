import { describe, expect, it } from 'vitest'
import { oomKilled } from '../../src/runtime/process-group.ts'

describe('what a process\'s end says about the OOM killer', () => {
  it('blames it only for a run that ended by SIGKILL after it struck', () => {
    expect(oomKilled({ exitCode: null, signal: 'SIGKILL' }, 1)).toBe(true)
    expect(oomKilled({ exitCode: null, signal: 'SIGKILL' }, 0)).toBe(false)
    expect(oomKilled({ exitCode: 1, signal: null }, 1)).toBe(false)
    expect(oomKilled({ exitCode: null, signal: 'SIGTERM' }, 2)).toBe(false)
  })

  it('takes the exit code a runtime gives for a SIGKILL where one is named', () => {
    expect(oomKilled({ exitCode: 137, signal: null }, 1, 137)).toBe(true)
    expect(oomKilled({ exitCode: 137, signal: null }, 1)).toBe(false)
    expect(oomKilled({ exitCode: 137, signal: null }, 0, 137)).toBe(false)
  })
})
