import { describe, expect, it } from 'vitest'
import { FrameSplitter } from '../../src/common/attach-frames.ts'
import { FrameParser, MESSAGE_MAX, plainBuffer, type OutputChunk } from '../../src/runtime/attach.ts'

const frame = (stream: number, data: Buffer): Buffer => {
  const head = Buffer.alloc(5)
  head[0] = stream
  head.writeUInt32BE(data.length, 1)
  return Buffer.concat([head, data])
}

/** Feeds `bytes` in pieces of `cut`, reusing one buffer for every piece as the daemon's reads do. */
const parse = (bytes: Buffer, cut: number): { ok: boolean, out: OutputChunk[] } => {
  // As a run's socket reads: frames cut out of each read, their pieces gathered, then flushed.
  const frames = new FrameSplitter()
  const p = new FrameParser(plainBuffer)
  const out: OutputChunk[] = []
  const emit = (c: OutputChunk): void => { out.push(c) }
  const shared = Buffer.alloc(cut)
  let ok = true
  for (let at = 0; at < bytes.length && ok; at += cut) {
    const n = bytes.copy(shared, 0, at, at + cut)
    ok = frames.push(shared.subarray(0, n), (stream, data) => p.piece(stream, data, emit))
    p.flush(emit)
    shared.fill(0xee)
  }
  return { ok, out }
}
const joined = (out: OutputChunk[]): string[] => {
  const all: string[] = []
  for (const c of out) {
    const last = all.at(-1)
    if (last?.startsWith(`${c.stream}:`) === true) all[all.length - 1] = last + c.data.toString()
    else all.push(`${c.stream}:${c.data.toString()}`)
  }
  return all
}

describe('attach frames', () => {
  it('gives the same output however the reads cut the frames, copied out of the read buffer', () => {
    const frames = Buffer.concat([frame(1, Buffer.from('hello ')), frame(1, Buffer.from('world\n')), frame(2, Buffer.from('oops\n')), frame(1, Buffer.alloc(0)), frame(1, Buffer.from('bye\n'))])
    for (const cut of [1, 2, 3, 5, 7, 11, frames.length]) {
      const { ok, out } = parse(frames, cut)
      expect(ok).toBe(true)
      expect(joined(out)).toEqual(['stdout:hello world\n', 'stderr:oops\n', 'stdout:bye\n'])
    }
    expect(parse(frames, frames.length).out.map(c => c.data.length)).toEqual([12, 5, 4])
  })

  it('gathers a read into messages of at most MESSAGE_MAX', () => {
    const big = Buffer.alloc(200 * 1024, 1)
    const { out } = parse(Buffer.concat([frame(1, big), frame(1, big), frame(1, big), frame(1, big)]), 4 * (5 + big.length))
    expect(out.map(c => c.data.length)).toEqual([MESSAGE_MAX, 800 * 1024 - MESSAGE_MAX])
  })

  it('refuses frames no monitor sends', () => {
    expect(parse(Buffer.from([3, 0, 0, 0, 1, 65]), 6).ok).toBe(false)
  })
})
