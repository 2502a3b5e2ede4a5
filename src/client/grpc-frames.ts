// gRPC's framing on an HTTP/2 stream: length-prefixed messages cut out of the chunks as they come.
import type { ClientHttp2Stream } from 'node:http2'
import { status as Status } from '../grpc-status.ts'
import { GrpcError } from './grpc-error.ts'

/** The stream's messages as they complete. Chunks (16 KB each from grpc-js) are gathered as they
 * come, not one by one through the caller; the stream is paused while whole messages wait. */
export async function * messagesOf (stream: ClientHttp2Stream): AsyncGenerator<Buffer> {
  const reader = new MessageReader()
  const queued: Buffer[] = []
  let ended = false
  let failure: unknown
  let wake: (() => void) | undefined
  const poke = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  stream.on('data', (chunk: Buffer) => {
    try {
      for (let message = reader.push(chunk); message !== undefined; message = reader.next()) queued.push(message)
    } catch (err) {
      failure = err
    }
    if (queued.length > 1 || failure !== undefined) stream.pause()
    if (queued.length > 0 || failure !== undefined) poke()
  })
  for (const event of ['end', 'close', 'error']) stream.once(event, () => { ended = true; poke() })
  for (;;) {
    if (failure !== undefined) throw failure
    const message = queued.shift()
    if (message !== undefined) {
      yield message
      if (queued.length === 0) stream.resume()
    } else if (ended) {
      return
    } else {
      await new Promise<void>(resolve => { wake = resolve })
    }
  }
}

/** Length-prefixed gRPC messages out of HTTP/2 chunks; a message's chunks are joined once, when it is whole. */
export class MessageReader {
  private chunks: Buffer[] = []
  private bytes = 0

  /** Takes a chunk; returns the first message it completes. */
  push (chunk: Buffer): Buffer | undefined {
    this.chunks.push(chunk)
    this.bytes += chunk.length
    return this.next()
  }

  /** The next whole message held, if any. */
  next (): Buffer | undefined {
    if (this.bytes < 5) return undefined
    // A header split across chunks is joined once, not again at every chunk until the message is whole.
    if (this.chunks[0].length < 5) this.chunks = [Buffer.concat(this.chunks, this.bytes)]
    const head = this.chunks[0]
    if (head[0] !== 0) throw new GrpcError(Status.INTERNAL, 'the daemon sent a compressed message')
    const length = head.readUInt32BE(1)
    if (this.bytes < 5 + length) return undefined
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytes)
    this.chunks = all.length > 5 + length ? [all.subarray(5 + length)] : []
    this.bytes = all.length - 5 - length
    return all.subarray(5, 5 + length)
  }
}

/** grpc-message is percent-encoded on the wire. */
export function decodeMessage (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
