import { describe, expect, it } from 'vitest'
import { staggeredDial } from '../../src/mesh/dial-order.ts'

/** A dial the test settles by hand, with the signal the dialler was given. */
interface Pending { addr: string, signal: AbortSignal, resolve: (conn: string) => void, reject: (err: Error) => void }

function dialler (): { dial: (addr: string, signal: AbortSignal) => Promise<string>, started: Pending[] } {
  const started: Pending[] = []
  const dial = async (addr: string, signal: AbortSignal): Promise<string> => await new Promise<string>((resolve, reject) => {
    started.push({ addr, signal, resolve, reject })
  })
  return { dial, started }
}

const turn = async (): Promise<void> => await new Promise(resolve => setTimeout(resolve, 0))
const HOUR = 3_600_000

describe('dialling a token\'s addresses', () => {
  it('dials the first address alone, and the next one as soon as the first fails', async () => {
    const { dial, started } = dialler()
    const discarded: string[] = []
    const result = staggeredDial(['a', 'b', 'c'], dial, { staggerMs: HOUR, signal: new AbortController().signal, discard: c => discarded.push(c) })
    await turn()
    expect(started.map(p => p.addr)).toEqual(['a'])
    started[0].reject(new Error('refused'))
    await turn()
    expect(started.map(p => p.addr)).toEqual(['a', 'b'])
    started[1].resolve('conn-b')
    expect(await result).toBe('conn-b')
    // The winner ends the race: the address after it is never dialled.
    expect(started.map(p => p.addr)).toEqual(['a', 'b'])
    expect(discarded).toEqual([])
  })

  it('starts the next address beside a slow one, takes the first to connect, and closes one that connects late', async () => {
    const { dial, started } = dialler()
    const discarded: string[] = []
    const result = staggeredDial(['slow', 'fast'], dial, { staggerMs: 0, signal: new AbortController().signal, discard: c => discarded.push(c) })
    await turn()
    await turn()
    expect(started.map(p => p.addr)).toEqual(['slow', 'fast'])
    started[1].resolve('conn-fast')
    expect(await result).toBe('conn-fast')
    // The dial still running is told to stop; had it connected anyway, that connection is handed back to close.
    expect(started[0].signal.aborted).toBe(true)
    started[0].resolve('conn-slow')
    await turn()
    expect(discarded).toEqual(['conn-slow'])
  })

  it('never aborts the winner\'s signal: a transport may close the connection with it', async () => {
    const { dial, started } = dialler()
    const deadline = new AbortController()
    const result = staggeredDial(['slow', 'fast'], dial, { staggerMs: 0, signal: deadline.signal, discard: () => {} })
    await turn()
    await turn()
    started[1].resolve('conn-fast')
    await result
    deadline.abort()
    expect(started.map(p => p.signal.aborted)).toEqual([true, false])
  })

  it('fails with every address\'s error when none connects', async () => {
    const { dial, started } = dialler()
    const result = staggeredDial(['a', 'b'], dial, { staggerMs: HOUR, signal: new AbortController().signal, discard: () => {} })
    await turn()
    started[0].reject(new Error('no route to a'))
    await turn()
    started[1].reject(new Error('b refused'))
    const err = await result.then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(AggregateError)
    expect((err as AggregateError).errors.map(e => (e as Error).message)).toEqual(['no route to a', 'b refused'])
    expect((err as AggregateError).message).toBe('no route to a; b refused')
  })

  it('waits for a dial still running before it gives up', async () => {
    const { dial, started } = dialler()
    const result = staggeredDial(['a', 'b'], dial, { staggerMs: 0, signal: new AbortController().signal, discard: () => {} })
    await turn()
    await turn()
    started[1].reject(new Error('b refused'))
    await turn()
    let settled = false
    void result.then(() => { settled = true }, () => { settled = true })
    await turn()
    expect(settled).toBe(false)
    started[0].resolve('conn-a')
    expect(await result).toBe('conn-a')
  })

  it('passes the caller\'s abort on to every dial', async () => {
    const { dial, started } = dialler()
    const ac = new AbortController()
    const result = staggeredDial(['a'], dial, { staggerMs: HOUR, signal: ac.signal, discard: () => {} })
    await turn()
    ac.abort()
    expect(started[0].signal.aborted).toBe(true)
    started[0].reject(new Error('aborted'))
    await expect(result).rejects.toThrow('aborted')
  })

  it('fails at once with nothing to dial', async () => {
    await expect(staggeredDial([], async () => 'never', { staggerMs: HOUR, signal: new AbortController().signal, discard: () => {} })).rejects.toThrow('no address to dial')
  })
})
