import { describe, expect, it } from 'vitest'
import { WriteGuard, type WriteOp } from '../../src/store/write-guard.ts'

/** A database that records each batch it is given (each takes a turn of the event loop) and fails the ones it is told to. */
function fakeDb () {
  const log: string[] = []
  const db = {
    failNext: 0,
    batches: [] as string[][],
    inFlight: false,
    open: async () => { log.push('open') },
    close: async () => { log.push('close') },
    batch: async (ops: Array<WriteOp<string>>) => {
      db.inFlight = true
      await new Promise(resolve => setImmediate(resolve))
      db.inFlight = false
      if (db.failNext > 0) {
        db.failNext--
        throw Object.assign(new Error('IO error: No space left on device'), { code: 'ENOSPC' })
      }
      db.batches.push(ops.map(op => `${op.type} ${op.sublevel}/${op.key}`))
      log.push(`batch ${ops.length}`)
    }
  }
  return { db, log }
}

describe('the store\'s write guard', () => {
  it('has one batch in flight at a time: writes of one tick go together, and those that come meanwhile in the next', async () => {
    const { db } = fakeDb()
    const guard = new WriteGuard<string>(db, () => [], '/data/store')
    const put = async (i: number): Promise<void> => await guard.write({ type: 'put', sublevel: 'w', key: `k${i}`, value: i })
    const first = Array.from({ length: 40 }, async (_, i) => await put(i))
    while (!db.inFlight) await new Promise(resolve => setImmediate(resolve))
    const second = Array.from({ length: 60 }, async (_, i) => await put(40 + i))
    await Promise.all([...first, ...second])
    expect(db.batches.map(b => b.length)).toEqual([40, 60])
    expect(db.batches.flat()).toEqual(Array.from({ length: 100 }, (_, i) => `put w/k${i}`))
  })

  it('fails every write of a failed batch, and reopens the database before the next write or read', async () => {
    const { db, log } = fakeDb()
    const guard = new WriteGuard<string>(db, () => [{ open: async () => { log.push('open part') }, close: async () => {} }], '/data/store')
    await guard.write({ type: 'put', sublevel: 'w', key: 'first', value: 1 })
    db.failNext = 1
    const one = guard.write({ type: 'del', sublevel: 'w', key: 'k1' })
    while (!db.inFlight) await new Promise(resolve => setImmediate(resolve))
    const failed = await Promise.allSettled([one, ...[2, 3].map(async i => await guard.write({ type: 'del', sublevel: 'w', key: `k${i}` }))])
    // The first went alone and failed; the two that came meanwhile waited, and went after a reopen.
    expect(failed.map(r => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled'])
    expect((failed[0] as PromiseRejectedResult).reason.message).toBe('no space left on /data/store')
    expect(log).toEqual(['batch 1', 'close', 'open', 'open part', 'batch 2'])
    // A failure with nothing queued behind it: the next read reopens first.
    db.failNext = 1
    await expect(guard.write({ type: 'put', sublevel: 'w', key: 'lost', value: 3 })).rejects.toThrow('no space left on /data/store')
    expect(await guard.read(async () => 'read')).toBe('read')
    expect(log.slice(5)).toEqual(['close', 'open', 'open part'])
  })
})
