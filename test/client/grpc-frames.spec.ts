import { describe, expect, it } from 'vitest'
import { decodeMessage, MessageReader } from '../../src/client/grpc-frames.ts'
import { GrpcError } from '../../src/client/grpc-error.ts'

const frame = (body: string, flag = 0): Buffer => {
  const bytes = Buffer.from(body)
  const head = Buffer.alloc(5)
  head[0] = flag
  head.writeUInt32BE(bytes.length, 1)
  return Buffer.concat([head, bytes])
}

/** Every message the reader gives for `chunks`, pushed one after another. */
const read = (chunks: Buffer[]): string[] => {
  const reader = new MessageReader()
  const out: string[] = []
  for (const chunk of chunks) {
    for (let m = reader.push(chunk); m !== undefined; m = reader.next()) out.push(m.toString())
  }
  return out
}

describe('gRPC framing on the SDK\'s side', () => {
  it('cuts messages out of chunks however the chunks fall: several in one, one across many, a header split', () => {
    const wire = Buffer.concat([frame('first'), frame(''), frame('x'.repeat(40_000)), frame('last')])
    const expected = ['first', '', 'x'.repeat(40_000), 'last']
    expect(read([wire])).toEqual(expected)
    for (const size of [1, 2, 3, 5, 7, 16_384]) {
      const chunks: Buffer[] = []
      for (let at = 0; at < wire.length; at += size) chunks.push(wire.subarray(at, at + size))
      expect(read(chunks)).toEqual(expected)
    }
  })

  it('holds a partial message until the rest comes', () => {
    const reader = new MessageReader()
    const whole = frame('hello')
    expect(reader.push(whole.subarray(0, 7))).toBeUndefined()
    expect(reader.next()).toBeUndefined()
    expect(reader.push(whole.subarray(7))?.toString()).toBe('hello')
  })

  it('refuses a compressed message, which it never asked for', () => {
    expect(() => read([frame('zipped', 1)])).toThrow(GrpcError)
    expect(() => read([frame('zipped', 1)])).toThrow('the daemon sent a compressed message')
  })

  it('decodes percent-encoded status messages, and keeps malformed ones as they came', () => {
    expect(decodeMessage('no%20workload%20named%20web')).toBe('no workload named web')
    expect(decodeMessage('100%')).toBe('100%')
  })
})
