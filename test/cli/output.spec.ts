import { describe, expect, it } from 'vitest'
import { duration, table } from '../../src/cli/output.ts'

describe('terminal output', () => {
  it('aligns columns by visible width, ignoring colour codes', () => {
    const out = table(['NAME', 'STATE'], [['web', '\x1b[32mrunning\x1b[0m'], ['a-long-name', 'exited']])
    expect(out.replace(/\x1b\[[0-9;]*m/g, '')).toBe('NAME         STATE\nweb          running\na-long-name  exited\n')
  })

  it.each([[0, '0s'], [59_000, '59s'], [61_000, '1m1s'], [3_600_000, '1h'], [3_725_000, '1h2m'], [90_000_000, '1d1h']])('%i ms is %s', (ms, text) => {
    expect(duration(ms)).toBe(text)
  })
})
