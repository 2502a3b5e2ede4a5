// gRPC's framing on an HTTP/2 stream: length-prefixed messages cut out of the chunks as they come.
import type { ClientHttp2Stream } from 'node:http2'
import { FrameReader, framesOf, type Frame } from '../common/call-frames.ts'
import { status as Status } from '../grpc-status.ts'
import { GrpcError } from './grpc-error.ts'

/** The stream's messages as they complete; the stream is paused while whole messages wait (common/call-frames.ts). */
export async function * messagesOf (stream: ClientHttp2Stream): AsyncGenerator<Buffer> {
  for await (const frame of framesOf(stream, Infinity)) yield uncompressed(frame)
}

/** Length-prefixed gRPC messages out of HTTP/2 chunks; a message's chunks are joined once, when it is whole. */
export class MessageReader {
  private readonly frames = new FrameReader(Infinity)

  /** Takes a chunk; returns the first message it completes. */
  push (chunk: Buffer): Buffer | undefined {
    this.frames.push(chunk)
    return this.next()
  }

  /** The next whole message held, if any. */
  next (): Buffer | undefined {
    const frame = this.frames.next()
    return frame === undefined ? undefined : uncompressed(frame)
  }
}

function uncompressed (frame: Frame): Buffer {
  if (frame.flag !== 0) throw new GrpcError(Status.INTERNAL, 'the daemon sent a compressed message')
  return frame.body
}

/** grpc-message is percent-encoded on the wire. */
export function decodeMessage (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
