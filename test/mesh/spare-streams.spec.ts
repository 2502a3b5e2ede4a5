import { describe, expect, it } from 'vitest'
import { SpareStreams, type SpareStream } from '../../src/mesh/spare-streams.ts'

class FakeStream implements SpareStream {
  status = 'open'
  writeStatus = 'writable'
  readStatus = 'readable'
  remoteWriteStatus = 'writable'
  remoteReadStatus = 'readable'
  closed = false
  aborted = false
  constructor (readonly id: number) {}
  async close (): Promise<void> { this.closed = true; this.status = 'closed' }
  abort (): void { this.aborted = true; this.status = 'aborted' }
}

function setup (opts: { maxAgeMs?: number, best?: (s: FakeStream) => boolean } = {}) {
  let clock = 0
  let n = 0
  const opened: FakeStream[] = []
  const spares = new SpareStreams<FakeStream>(async () => { const s = new FakeStream(++n); opened.push(s); return s }, opts.maxAgeMs ?? 1000, opts.best ?? (() => true), () => clock)
  return { spares, opened, tick: (ms: number) => { clock += ms } }
}

describe('spare call streams', () => {
  it('hands the spare opened ahead to the next call, once', async () => {
    const { spares, opened } = setup()
    spares.fill('emily')
    spares.fill('emily')
    expect(opened).toHaveLength(1)
    expect((await spares.take('emily'))?.id).toBe(1)
    expect(await spares.take('emily')).toBeUndefined()
    expect(await spares.take('bob')).toBeUndefined()
  })

  it('passes over a spare that is too old, closed by either side, or no longer on the best path', async () => {
    for (const [what, spoil] of [
      ['too old', (_s: FakeStream, tick: (ms: number) => void) => tick(1000)],
      ['closed here', (s: FakeStream) => { s.status = 'closed' }],
      ['closed by the peer', (s: FakeStream) => { s.remoteWriteStatus = 'closed' }],
      ['not read by the peer any more', (s: FakeStream) => { s.remoteReadStatus = 'closing' }]
    ] as const) {
      const { spares, opened, tick } = setup()
      spares.fill('emily')
      await Promise.resolve()
      spoil(opened[0], tick)
      expect({ what, taken: await spares.take('emily') }).toEqual({ what, taken: undefined })
      expect(opened[0].aborted || opened[0].status !== 'open').toBe(true)
    }
    let best = true
    const { spares } = setup({ best: () => best })
    spares.fill('emily')
    best = false
    expect(await spares.take('emily')).toBeUndefined()
  })

  it('gives nothing for a spare that could not be opened', async () => {
    const spares = new SpareStreams<FakeStream>(async () => { throw new Error('unreachable') }, 1000)
    spares.fill('emily')
    expect(await spares.take('emily')).toBeUndefined()
  })

  it('closes a peer\'s spare when dropped, and every spare when cleared', async () => {
    const { spares, opened } = setup()
    spares.fill('emily')
    spares.fill('bob')
    spares.drop('emily')
    await new Promise(resolve => setImmediate(resolve))
    expect(opened.map(s => s.closed)).toEqual([true, false])
    expect(await spares.take('emily')).toBeUndefined()
    spares.clear()
    await new Promise(resolve => setImmediate(resolve))
    expect(opened.map(s => s.closed)).toEqual([true, true])
  })
})
