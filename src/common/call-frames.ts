// gRPC's length-prefixed messages ([flag][u32 big-endian length][bytes]), read off HTTP/2 streams (client/grpc-frames.ts)
// and off the daemon's frame socket (node/api/frame-socket.ts, client/frame-call.ts). There, gRPC-Web's flag 0x80
// marks the frame that closes a side: the caller's end of input, the daemon's status. A connection carries one
// call; closing it cancels.

/** The frame socket beside the gRPC socket at `sock`: the daemon serves it, the SDK looks for it there. */
export function frameSocketOf (sock: string): string {
  return `${sock}.frames`
}

export const MESSAGE = 0x00
export const CLOSING = 0x80

export interface Frame {
  flag: number
  body: Buffer
}

/** A frame longer than its reader allows. */
export class FrameError extends Error {
  override name = 'FrameError'
}

/** One frame on the wire. */
export function encodeFrame (flag: number, body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + body.length)
  frame[0] = flag
  frame.writeUInt32BE(body.length, 1)
  frame.set(body, 5)
  return frame
}

/** Cuts frames out of reads, however the reads cut them; a frame's reads are joined once, when it is whole. */
export class FrameReader {
  private chunks: Buffer[] = []
  private bytes = 0

  /** `max` bounds a frame's body: a longer one is refused before its bytes are gathered. */
  constructor (private readonly max: number) {}

  push (chunk: Buffer): void {
    this.chunks.push(chunk)
    this.bytes += chunk.length
  }

  /** The next whole frame held, if any, whatever its flag; throws FrameError on one longer than allowed. */
  next (): Frame | undefined {
    if (this.bytes < 5) return undefined
    // A header split across reads is joined once, not again at every read until the frame is whole.
    if (this.chunks[0].length < 5) this.chunks = [Buffer.concat(this.chunks, this.bytes)]
    const head = this.chunks[0]
    const flag = head[0]
    const length = head.readUInt32BE(1)
    if (length > this.max) throw new FrameError(`a frame of ${length} bytes (at most ${this.max})`)
    if (this.bytes < 5 + length) return undefined
    const all = this.chunks.length === 1 ? head : Buffer.concat(this.chunks, this.bytes)
    this.chunks = all.length > 5 + length ? [all.subarray(5 + length)] : []
    this.bytes = all.length - 5 - length
    return { flag, body: all.subarray(5, 5 + length) }
  }
}

/** What frames are read from: a socket. */
export interface FrameSource {
  on: (event: 'data', listener: (chunk: Buffer) => void) => unknown
  once: (event: 'end' | 'close' | 'error', listener: () => void) => unknown
  pause: () => unknown
  resume: () => unknown
}

/** The source's frames as they complete, until it ends. The source is paused while whole frames wait, so a reader
 * that does not take them holds at most two. */
export async function * framesOf (source: FrameSource, max: number): AsyncGenerator<Frame> {
  const reader = new FrameReader(max)
  const queued: Frame[] = []
  let ended = false
  let failure: unknown
  let wake: (() => void) | undefined
  const poke = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  source.on('data', chunk => {
    try {
      reader.push(chunk)
      for (let frame = reader.next(); frame !== undefined; frame = reader.next()) queued.push(frame)
    } catch (err) {
      failure = err
    }
    if (queued.length > 1 || failure !== undefined) source.pause()
    if (queued.length > 0 || failure !== undefined) poke()
  })
  for (const event of ['end', 'close', 'error'] as const) source.once(event, () => { ended = true; poke() })
  for (;;) {
    if (failure !== undefined) throw failure
    const frame = queued.shift()
    if (frame !== undefined) {
      yield frame
      if (queued.length === 0) source.resume()
    } else if (ended) {
      return
    } else {
      await new Promise<void>(resolve => { wake = resolve })
    }
  }
}
