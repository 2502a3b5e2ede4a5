import { describe, expect, it } from 'vitest'
import { ExitWaiters } from '../../src/runtime/exit-waiters.ts'
import type { WorkloadRecord } from '../../src/runtime/workload.ts'

const record = (name: string): WorkloadRecord => ({ spec: { name } }) as unknown as WorkloadRecord

describe('ExitWaiters', () => {
  it('settles everyone waiting for one workload, and no one waiting for another', async () => {
    const waiters = new ExitWaiters()
    const a1 = waiters.wait('a')
    const a2 = waiters.wait('a')
    let bSettled = false
    void waiters.wait('b').then(() => { bSettled = true })
    const ended = record('a')
    waiters.settle(ended)
    expect(await a1).toBe(ended)
    expect(await a2).toBe(ended)
    await Promise.resolve()
    expect(bSettled).toBe(false)
  })

  it('gives up a wait when its signal aborts, and later ends do not reach it', async () => {
    const waiters = new ExitWaiters()
    const ac = new AbortController()
    const waiting = waiters.wait('a', ac.signal)
    ac.abort(new Error('caller left'))
    await expect(waiting).rejects.toThrow('caller left')
    waiters.settle(record('a'))
    await expect(waiters.wait('a', ac.signal)).rejects.toThrow('caller left')
  })
})
