import { describe, expect, it } from 'vitest'
import { InputQueue } from '../../src/mesh/rpc-input.ts'

describe('InputQueue', () => {
  it('hands frames to the handler in order and grants each back as it is taken', async () => {
    const granted: number[] = []
    const q = new InputQueue(n => granted.push(n), 10)
    q.push(Buffer.from('abc'))
    q.push(Buffer.from('de'))
    q.end()
    const got: string[] = []
    for await (const f of q) got.push(String(f))
    expect(got).toEqual(['abc', 'de'])
    expect(granted).toEqual([3, 2])
  })

  it('refuses a caller that sends beyond its window, so memory stays bounded', () => {
    const q = new InputQueue(() => {}, 4)
    q.push(Buffer.from('abcd'))
    expect(() => q.push(Buffer.from('e'))).toThrow('the caller sent more than its input window of 4 bytes')
  })

  it('fails the handler\'s iteration once the call is gone', async () => {
    const q = new InputQueue(() => {}, 4)
    const reading = (async () => { for await (const _ of q) {} })()
    q.fail(new Error('gone'))
    await expect(reading).rejects.toThrow('gone')
  })
})
