import { describe, expect, it } from 'vitest'
import { frame, pacedFrames } from '../../src/mesh/paced-frames.ts'

/** Just enough of a libp2p stream: message/end/close events; while paused it holds what arrives and hands it over on resume, at once. */
class FakeStream extends EventTarget {
  readStatus: 'readable' | 'paused' = 'readable'
  readableEnded = false
  private readonly held: Uint8Array[] = []
  pause (): void { this.readStatus = 'paused' }
  resume (): void {
    this.readStatus = 'readable'
    for (const bytes of this.held.splice(0)) this.deliver(bytes)
  }

  deliver (bytes: Uint8Array): void {
    if (this.readStatus === 'paused') this.held.push(bytes)
    else this.dispatchEvent(Object.assign(new Event('message'), { data: bytes }))
  }

  end (): void { this.readableEnded = true; this.dispatchEvent(new Event('end')) }
}

describe('paced frames', () => {
  it('reads frames cut anywhere, and pauses the stream while a whole frame waits to be taken', async () => {
    const s = new FakeStream()
    const wire = Buffer.concat([frame(Buffer.from('first')), frame(Buffer.alloc(300, 1)), frame(new Uint8Array(0))])
    const frames = pacedFrames(s as any, 1024)
    const first = frames.next()
    for (let at = 0; at < 3; at++) s.deliver(wire.subarray(at, at + 1))
    s.deliver(wire.subarray(3))
    expect(Buffer.from((await first).value as Uint8Array).toString()).toBe('first')
    expect(s.readStatus).toBe('paused')
    expect(((await frames.next()).value as Uint8Array).length).toBe(300)
    expect(((await frames.next()).value as Uint8Array).length).toBe(0)
    const last = frames.next()
    await new Promise(resolve => setImmediate(resolve))
    expect(s.readStatus).toBe('readable')
    s.end()
    expect((await last).done).toBe(true)
  })

  it('takes what a paused stream held back when it resumes', async () => {
    const s = new FakeStream()
    const frames = pacedFrames(s as any, 1024)
    const first = frames.next()
    s.deliver(frame(Buffer.from('one')))
    expect(Buffer.from((await first).value as Uint8Array).toString()).toBe('one')
    s.deliver(frame(Buffer.from('two')))
    s.deliver(frame(Buffer.from('three')))
    expect(Buffer.from((await frames.next()).value as Uint8Array).toString()).toBe('two')
    expect(Buffer.from((await frames.next()).value as Uint8Array).toString()).toBe('three')
  })

  it('refuses a frame over the limit and a stream that ends inside a frame', async () => {
    const s = new FakeStream()
    const over = pacedFrames(s as any, 10).next()
    s.deliver(frame(Buffer.alloc(11)))
    await expect(over).rejects.toThrow(/over the 10 byte limit/)
    const t = new FakeStream()
    const cut = pacedFrames(t as any, 100).next()
    t.deliver(frame(Buffer.alloc(50)).subarray(0, 20))
    t.end()
    await expect(cut).rejects.toThrow(/ended inside a frame/)
  })
})
