import { describe, expect, it } from 'vitest'
import { ago, clean, duration, json, table } from '../../../src/cli/kit/output.ts'

describe('terminal output', () => {
  it('aligns columns by visible width, ignoring colour codes', () => {
    const out = table(['NAME', 'STATE'], [['web', '\x1b[32mrunning\x1b[0m'], ['a-long-name', 'exited']])
    expect(out.replace(/\x1b\[[0-9;]*m/g, '')).toBe('NAME         STATE\nweb          running\na-long-name  exited\n')
  })

  it.each([[0, '0s'], [59_000, '59s'], [61_000, '1m1s'], [3_600_000, '1h'], [3_725_000, '1h2m'], [90_000_000, '1d1h']])('%i ms is %s', (ms, text) => {
    expect(duration(ms)).toBe(text)
  })

  it.each([[500, 'just now'], [1000, '1 second ago'], [90_000, '90 seconds ago'], [3 * 3_600_000, '3 hours ago'], [36 * 3_600_000, '36 hours ago'], [555 * 86_400_000 + 6 * 3_600_000, '18 months ago'], [3 * 365 * 86_400_000, '3 years ago']])('%i ms ago reads %s', (ms, text) => {
    expect(ago(ms)).toBe(text)
  })

  it('shows the control characters of text from another node instead of letting the terminal act on them', () => {
    expect(clean('bo\x1b[31mb\x07\u009b2J\u202etxt\n')).toBe('bo\\x1b[31mb\\x07\\x9b2J\\u202etxt\\x0a')
    expect(clean('emily@example.org /ip4/10.0.0.1/tcp/4710 ünïcode')).toBe('emily@example.org /ip4/10.0.0.1/tcp/4710 ünïcode')
  })

  it('writes JSON whose strings hold no raw control character, with the same values', () => {
    const value = { name: 'a\x1b[2J\u009b\u202e', n: 1 }
    const text = json(value)
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]/)
    expect(JSON.parse(text)).toEqual(value)
  })
})
