import { describe, expect, it } from 'vitest'
import { candidateNames } from '../../src/runtime/workload-names.ts'

const first = (names: Iterable<string>, n: number): string[] => {
  const out: string[] = []
  for (const name of names) {
    if (out.length === n) break
    out.push(name)
  }
  return out
}

describe('candidateNames', () => {
  it('offers only the name asked for when the caller named the workload', () => {
    expect([...candidateNames('redis', false)]).toEqual(['redis'])
  })

  it('offers NAME, NAME-2, NAME-3, … when the name was picked from the image', () => {
    expect(first(candidateNames('redis', true), 4)).toEqual(['redis', 'redis-2', 'redis-3', 'redis-4'])
  })

  it('keeps a numbered name within the length a name may have', () => {
    expect(first(candidateNames('a'.repeat(200), true), 2)[1]).toBe(`${'a'.repeat(120)}-2`)
  })
})
