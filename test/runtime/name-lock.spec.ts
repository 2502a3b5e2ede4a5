import { describe, expect, it } from 'vitest'
import { NameLock } from '../../src/runtime/name-lock.ts'

/** A piece of work the test finishes by hand. */
function gate (): { promise: Promise<void>, open: () => void } {
  let open = (): void => {}
  const promise = new Promise<void>(resolve => { open = resolve })
  return { promise, open }
}

describe('the per-name lock', () => {
  it('runs work on one name one piece at a time, in order, and work on other names beside it', async () => {
    const lock = new NameLock()
    const log: string[] = []
    const first = gate()
    const a1 = lock.run('a', async () => { log.push('a1 start'); await first.promise; log.push('a1 end') })
    const a2 = lock.run('a', async () => { log.push('a2') })
    const b1 = lock.run('b', async () => { log.push('b1') })
    await b1
    expect(log).toEqual(['a1 start', 'b1'])
    first.open()
    await Promise.all([a1, a2])
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2'])
  })

  it('gives each caller its own result or failure, and a failure does not hold up the next', async () => {
    const lock = new NameLock()
    const failed = lock.run('a', async () => { throw new Error('boom') })
    const next = lock.run('a', async () => 42)
    await expect(failed).rejects.toThrow('boom')
    expect(await next).toBe(42)
  })

  it('forgets a name once its work has settled, and says when all work has', async () => {
    const lock = new NameLock()
    const g = gate()
    const work = lock.run('a', async () => await g.promise)
    expect(lock.size).toBe(1)
    let idle = false
    const waiting = lock.idle().then(() => { idle = true })
    await new Promise(resolve => setImmediate(resolve))
    expect(idle).toBe(false)
    g.open()
    await work
    await waiting
    expect(idle).toBe(true)
    await new Promise(resolve => setImmediate(resolve))
    expect(lock.size).toBe(0)
  })
})
