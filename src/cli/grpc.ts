// The CLI's gRPC client: unary and server-streaming calls over HTTP/2 on the daemon's Unix socket,
// driven by the service definitions generated from proto/. The daemon serves with grpc-js; the CLI
// speaks the same wire protocol without loading it, because loading grpc-js costs more than the
// rest of a command's start.
import { connect as connectH2, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2'
import { createConnection } from 'node:net'
import { status as Status } from '../grpc-status.ts'

/** The gRPC status codes (one definition, shared with the node). */
export { Status }

/** A call that ended with a status other than OK. */
export class GrpcError extends Error {
  override name = 'GrpcError'
  constructor (readonly code: number, readonly details: string) {
    super(details)
  }
}

/** One method of a generated service definition (`WorkloadServiceService.run` and the like). */
export interface MethodDefinition<Req, Res> {
  path: string
  requestStream: boolean
  responseStream: boolean
  requestSerialize: (req: Req) => Buffer
  responseDeserialize: (bytes: Buffer) => Res
}

type Unary<D> = D extends MethodDefinition<infer Q, infer R> & { responseStream: false } ? (req: Q) => Promise<R> : never
type Streaming<D> = D extends MethodDefinition<infer Q, infer R> & { responseStream: true } ? (req: Q) => AsyncIterable<R> : never
/** A client for a service: unary methods return a promise, server-streaming ones an async iterable. */
export type ServiceClient<S> = { [K in keyof S]: S[K] extends { responseStream: true } ? Streaming<S[K]> : Unary<S[K]> }

/** HTTP/2 flow-control window: a 500 MB stream took 0.9 s through Node's default 64 KB, 0.57 s through this. */
const WINDOW = 4 * 1024 * 1024

/** One HTTP/2 connection to the daemon's socket, opened on first use and shared by every call. */
export class Channel {
  private session?: ClientHttp2Session

  /** `mapError` turns a failed call into what the caller throws. */
  constructor (private readonly sock: string, private readonly mapError: (err: GrpcError) => Error = err => err) {}

  /** A client whose methods make calls on this channel. */
  client<S extends Record<string, MethodDefinition<any, any>>>(service: S): ServiceClient<S> {
    const methods: Record<string, unknown> = {}
    for (const [key, def] of Object.entries(service)) {
      methods[key] = def.responseStream
        ? (req: unknown) => this.stream(def, req)
        : async (req: unknown) => await this.unary(def, req)
    }
    return methods as ServiceClient<S>
  }

  private async unary<Req, Res>(def: MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    let only: Res | undefined
    for await (const res of this.stream(def, req)) only = res
    if (only === undefined) throw this.mapError(new GrpcError(Status.INTERNAL, `no response to ${def.path}`))
    return only
  }

  private async * stream<Req, Res>(def: MethodDefinition<Req, Res>, req: Req): AsyncGenerator<Res> {
    try {
      yield * this.exchange(def, req)
    } catch (err) {
      throw err instanceof GrpcError ? this.mapError(err) : err
    }
  }

  /** Sends one request and yields each response message until the server's status. */
  private async * exchange<Req, Res>(def: MethodDefinition<Req, Res>, req: Req): AsyncGenerator<Res> {
    const stream = this.open(def.path)
    const body = def.requestSerialize(req)
    const frame = Buffer.alloc(5 + body.length)
    frame.writeUInt32BE(body.length, 1)
    body.copy(frame, 5)
    stream.end(frame)
    let status: { code: number, details: string } | undefined
    const fromHeaders = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] !== undefined) status = { code: Number(h['grpc-status']), details: decodeMessage(String(h['grpc-message'] ?? '')) }
    }
    stream.on('response', headers => {
      const type = String(headers['content-type'] ?? '')
      if (!type.startsWith('application/grpc')) status = { code: Status.UNKNOWN, details: `the daemon answered HTTP ${String(headers[':status'])} (${type})` }
      fromHeaders(headers)
    })
    stream.on('trailers', fromHeaders)
    let failure: Error | undefined
    stream.on('error', err => { failure = err })
    try {
      for await (const message of messagesOf(stream)) yield def.responseDeserialize(message)
    } catch (err) {
      if (err instanceof GrpcError) throw err
      failure ??= err as Error
    } finally {
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL)
    }
    if (failure !== undefined) throw this.unavailable(failure)
    if (status === undefined) throw new GrpcError(Status.UNAVAILABLE, `the connection to ${this.sock} closed mid-call`)
    if (status.code !== Status.OK) throw new GrpcError(status.code, status.details)
  }

  private open (path: string): ClientHttp2Stream {
    if (this.session === undefined || this.session.closed || this.session.destroyed) {
      // Large windows: attached output streams in messages of hundreds of KB.
      const session = connectH2('http://localhost', { createConnection: () => createConnection(this.sock), settings: { initialWindowSize: WINDOW } })
      session.once('connect', () => session.setLocalWindowSize(WINDOW))
      // Failures surface on each call's stream.
      session.on('error', () => {})
      this.session = session
    }
    return this.session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc+proto',
      te: 'trailers'
    })
  }

  private unavailable (err: Error): GrpcError {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    return new GrpcError(Status.UNAVAILABLE, `${code !== '' ? `${code}: ` : ''}${err.message}`)
  }
}

/** The stream's messages as they complete. Chunks (16 KB each from grpc-js) are gathered as they
 * come, not one by one through the caller; the stream is paused while whole messages wait. */
async function * messagesOf (stream: ClientHttp2Stream): AsyncGenerator<Buffer> {
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
class MessageReader {
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
    const head = this.chunks[0].length >= 5 ? this.chunks[0] : Buffer.concat(this.chunks)
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
function decodeMessage (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
