import { describe, expect, it } from 'vitest'
import { FrameParser, MESSAGE_MAX } from '../../src/runtime/attach.ts'

const frame = (stream: number, data: Buffer): Buffer => {
  const head = Buffer.alloc(5)
  head[0] = stream
  head.writeUInt32BE(data.length, 1)
  return Buffer.concat([head, data])
}
const parser = (): FrameParser => new FrameParser((_stream, size) => Buffer.alloc(size))

describe('attach frames', () => {
  it('gives the same output however the bytes are cut, joining runs of one stream', () => {
    const frames = Buffer.concat([frame(1, Buffer.from('hello ')), frame(1, Buffer.from('world\n')), frame(2, Buffer.from('oops\n')), frame(1, Buffer.from('bye\n'))])
    for (const cut of [1, 2, 3, 5, 7, 11, frames.length]) {
      const p = parser()
      const out = []
      for (let at = 0; at < frames.length; at += cut) out.push(...(p.push([frames.subarray(at, at + cut)]) ?? []))
      const joined: string[] = []
      for (const c of out) {
        const last = joined.at(-1)
        if (last?.startsWith(`${c.stream}:`) === true) joined[joined.length - 1] = last + c.data.toString()
        else joined.push(`${c.stream}:${c.data.toString()}`)
      }
      expect(joined).toEqual(['stdout:hello world\n', 'stderr:oops\n', 'stdout:bye\n'])
    }
    expect(parser().push([frames])?.map(c => c.data.length)).toEqual([12, 5, 4])
  })

  it('keeps messages under MESSAGE_MAX', () => {
    const big = Buffer.alloc(200 * 1024, 1)
    const out = parser().push([frame(1, big), frame(1, big), frame(1, big), frame(1, big)]) ?? []
    expect(out.map(c => c.data.length)).toEqual([400 * 1024, 400 * 1024])
    expect(Math.max(...out.map(c => c.data.length))).toBeLessThanOrEqual(MESSAGE_MAX)
  })

  it('refuses frames no monitor sends', () => {
    expect(parser().push([Buffer.from([3, 0, 0, 0, 1, 65])])).toBeUndefined()
    const huge = Buffer.alloc(5)
    huge[0] = 1
    huge.writeUInt32BE(MESSAGE_MAX + 1, 1)
    expect(parser().push([huge])).toBeUndefined()
  })
})
