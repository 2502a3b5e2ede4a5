import { describe, expect, it } from 'vitest'
import { RPC_WINDOW, SendWindow, TakenCounter, grantEvery } from '../../src/mesh/rpc-window.ts'

const never = new AbortController().signal
const settled = async (p: Promise<unknown>): Promise<boolean> => await Promise.race([p.then(() => true, () => true), new Promise<boolean>(resolve => setImmediate(() => resolve(false)))])

describe('a call\'s response window', () => {
  it('lets the callee send a window ahead, then waits for the caller\'s grant', async () => {
    const w = new SendWindow(1000)
    await w.take(600, never)
    await w.take(400, never)
    const next = w.take(100, never)
    expect(await settled(next)).toBe(false)
    w.grant(600)
    expect(await settled(next)).toBe(true)
  })

  it('never leaves the two waiting on each other, whatever the frame sizes', async () => {
    // A caller grants only every grantEvery bytes; the callee must still be able to send whatever it has.
    for (const sizes of [[100, 950], [124, 124, 900], [1, 2000], [500, 500, 500, 500, 999, 1]]) {
      const w = new SendWindow(1000)
      const caller = new TakenCounter(1000)
      for (const size of sizes) {
        const sent = w.take(size, never)
        expect({ sizes, size, sent: await settled(sent) }).toEqual({ sizes, size, sent: true })
        const grant = caller.took(size)
        if (grant > 0) w.grant(grant)
      }
    }
  })

  it('gives up waiting when the caller goes away', async () => {
    const w = new SendWindow(1000)
    await w.take(1000, never)
    const ac = new AbortController()
    const next = w.take(10, ac.signal)
    ac.abort()
    await expect(next).rejects.toThrow('went away')
    const w2 = new SendWindow(1000)
    await w2.take(1000, never)
    const closed = w2.take(10, never)
    w2.close()
    await expect(closed).rejects.toThrow('went away')
  })

  it('does not let a grant beyond what was sent widen the window', async () => {
    const w = new SendWindow(1000)
    await w.take(200, never)
    w.grant(1_000_000)
    await w.take(1000, never)
    expect(await settled(w.take(200, never))).toBe(false)
  })

  it('grants back in steps of an eighth of the window', () => {
    const c = new TakenCounter(RPC_WINDOW)
    expect(c.took(grantEvery(RPC_WINDOW) - 1)).toBe(0)
    expect(c.took(1)).toBe(grantEvery(RPC_WINDOW))
    expect(c.took(10)).toBe(0)
  })
})

describe('a long call', () => {
  it('leaves no listener behind on the call\'s signal for each wait', async () => {
    const ac = new AbortController()
    let listeners = 0
    const add = ac.signal.addEventListener.bind(ac.signal)
    const remove = ac.signal.removeEventListener.bind(ac.signal)
    ac.signal.addEventListener = ((...args: Parameters<typeof add>) => { listeners++; add(...args) }) as typeof add
    ac.signal.removeEventListener = ((...args: Parameters<typeof remove>) => { listeners--; remove(...args) }) as typeof remove
    const w = new SendWindow(1000)
    await w.take(1000, ac.signal)
    let waited = 0
    for (let i = 0; i < 100; i++) {
      // The window is full: each take waits for the grant that follows it.
      const sent = w.take(1000, ac.signal)
      if (!(await settled(sent))) waited++
      w.grant(1000)
      await sent
    }
    expect({ waited, listeners }).toEqual({ waited: 100, listeners: 0 })
  })
})
