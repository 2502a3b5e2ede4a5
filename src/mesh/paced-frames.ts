// Length-prefixed frames (an unsigned varint length, then the bytes) on a libp2p stream, read at
// the reader's pace: the stream is paused while a whole frame waits to be taken, so yamux stops
// granting the sender window and a slow reader slows the sender, instead of this side buffering
// what the sender keeps sending (lpStream's reader takes everything that arrives).
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { varintSize, writeVarint } from '../varint.ts'

/** A frame as it goes on the wire. */
export function frame (bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintSize(bytes.byteLength) + bytes.byteLength)
  out.set(bytes, writeVarint(out, 0, bytes.byteLength))
  return out
}

/** The stream's frames until its remote end closes; throws on a frame over `maxFrame` or a reset. */
export async function * pacedFrames (stream: Stream, maxFrame: number): AsyncGenerator<Uint8Array> {
  const held: Uint8Array[] = []
  let heldBytes = 0
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const poke = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  const onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data.subarray()
    held.push(data)
    heldBytes += data.byteLength
    poke()
  }
  const onEnd = (): void => { ended = true; poke() }
  const onClose = (evt: StreamCloseEvent): void => { failure = evt.error; onEnd() }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  try {
    for (;;) {
      const next = take(held, heldBytes, maxFrame)
      if (next !== undefined) {
        heldBytes -= next.used
        if (stream.readStatus === 'readable') stream.pause()
        yield next.frame
        continue
      }
      if (ended || stream.readableEnded) {
        if (failure !== undefined) throw failure
        if (heldBytes > 0) throw new Error('the stream ended inside a frame')
        return
      }
      if (stream.readStatus === 'paused') {
        // Resuming hands over what the stream held back at once, before any wait could hear of it.
        stream.resume()
        continue
      }
      await new Promise<void>(resolve => { wake = resolve })
    }
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
  }
}

/** Takes the first whole frame off `held`, if there is one. */
function take (held: Uint8Array[], heldBytes: number, maxFrame: number): { frame: Uint8Array, used: number } | undefined {
  let length = 0
  let head = 0
  for (let scale = 1; ; scale *= 0x80) {
    if (head >= heldBytes) return undefined
    const byte = byteAt(held, head++)
    length += (byte & 0x7f) * scale
    if (byte < 0x80) break
    if (head > 5) throw new Error('malformed frame length')
  }
  if (length > maxFrame) throw new Error(`frame of ${length} bytes is over the ${maxFrame} byte limit`)
  const need = head + length
  if (heldBytes < need) return undefined
  const parts: Uint8Array[] = []
  for (let got = 0; got < need;) {
    const chunk = held[0]
    if (got + chunk.byteLength <= need) {
      parts.push(chunk)
      held.shift()
      got += chunk.byteLength
    } else {
      parts.push(chunk.subarray(0, need - got))
      held[0] = chunk.subarray(need - got)
      got = need
    }
  }
  const all = parts.length === 1 ? parts[0] : concat(parts, need)
  return { frame: all.subarray(head), used: need }
}

function byteAt (held: Uint8Array[], at: number): number {
  for (const chunk of held) {
    if (at < chunk.byteLength) return chunk[at]
    at -= chunk.byteLength
  }
  return 0
}

function concat (chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}
