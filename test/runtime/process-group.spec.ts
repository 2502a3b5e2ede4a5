import { describe, expect, it } from 'vitest'
import { oomKilled } from '../../src/runtime/process-group.ts'

describe('what a run\'s cgroup says about the OOM killer', () => {
  it('blames it whenever it struck during the run, at the main process or a child, as Docker does', () => {
    expect(oomKilled(1)).toBe(true)
    expect(oomKilled(3)).toBe(true)
    expect(oomKilled(0)).toBe(false)
  })
})
