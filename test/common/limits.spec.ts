import { describe, expect, it } from 'vitest'
import { formatBytes, parseCpus, parseMemory, parsePids, validateLimits } from '../../src/common/limits.ts'

describe('limits as users write them', () => {
  it.each([
    ['64M', 64 * 2 ** 20],
    ['64m', 64 * 2 ** 20],
    ['64MiB', 64 * 2 ** 20],
    ['64mb', 64 * 2 ** 20],
    ['1g', 2 ** 30],
    ['1.5G', 1.5 * 2 ** 30],
    ['2048k', 2 * 2 ** 20],
    ['1048576', 2 ** 20]
  ])('memory %s is %i bytes', (text, bytes) => {
    expect(parseMemory(text)).toBe(bytes)
  })

  it.each(['lots', '', '-5M', '0', '512k', '12Q', '1e9'])('refuses memory %j', text => {
    expect(() => parseMemory(text)).toThrow(/memory/)
  })

  it.each([['0.5', 0.5], ['2', 2], ['.25', 0.25]])('cpus %s', (text, n) => {
    expect(parseCpus(text)).toBe(n)
  })

  it.each(['0', 'abc', '-1', '0.001', '2000', 'Infinity'])('refuses cpus %j', text => {
    expect(() => parseCpus(text)).toThrow(/cpus/)
  })

  it('pids are whole and positive', () => {
    expect(parsePids('20')).toBe(20)
    for (const bad of ['0', '1.5', 'x', '-3']) expect(() => parsePids(bad)).toThrow(/invalid pids limit/)
  })

  it('checks limits that arrive typed over the API', () => {
    expect(validateLimits({ cpus: 0, memoryBytes: 0, pids: 0 })).toEqual({ cpus: 0, memoryBytes: 0, pids: 0 })
    expect(() => validateLimits({ cpus: Number.NaN, memoryBytes: 0, pids: 0 })).toThrow(/cpus/)
    expect(() => validateLimits({ cpus: 0, memoryBytes: 100, pids: 0 })).toThrow(/memory/)
    expect(() => validateLimits({ cpus: 0, memoryBytes: 0, pids: -1 })).toThrow(/pids/)
  })

  it('formats sizes for people', () => {
    expect(formatBytes(64 * 2 ** 20)).toBe('64M')
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5G')
    expect(formatBytes(2048)).toBe('2K')
    expect(formatBytes(12)).toBe('12B')
  })
})
