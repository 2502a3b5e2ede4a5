// The SDK's transport: unary, server-streaming and bidirectional gRPC calls over HTTP/2 on the daemon's Unix socket, in
// plaintext on the owner-only socket or mTLS on the other (or the same calls on its frame socket, frame-call.ts), driven
// by the service definitions generated from proto/. The daemon serves with grpc-js; the SDK
// speaks the same wire protocol without loading it, because loading grpc-js costs more than the rest
// of a CLI command's start. Nothing here is part of the SDK's public API (connect.ts is).
import { connect as connectH2, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2'
import { createConnection } from 'node:net'
import { connect as connectTls } from 'node:tls'
import { firstEvent } from '../common/first-event.ts'
import { TLS_SERVER_NAME } from '../common/node-defaults.ts'
import { CancelledError } from '../errors.ts'
import { status as Status } from '../grpc-status.ts'
import { frameCall, FrameSocketRefused } from './frame-call.ts'
import { GrpcError } from './grpc-error.ts'
import { decodeMessage, messagesOf } from './grpc-frames.ts'

/** One method of a generated service definition (`WorkloadServiceService.run` and the like). */
export interface MethodDefinition<Req, Res> {
  path: string
  requestStream: boolean
  responseStream: boolean
  requestSerialize: (req: Req) => Buffer
  responseDeserialize: (bytes: Buffer) => Res
}

/** What every call may take: a signal that cancels it (the call then fails with CancelledError). */
export interface CallOptions {
  signal?: AbortSignal
}

/** A request as callers write it: a field left out takes its proto default (0, '', false, empty). */
export type RequestInit<T> = T extends Uint8Array | string | number | boolean | undefined ? T
  : T extends Array<infer U> ? Array<RequestInit<U>>
    : T extends object ? { [K in keyof T]?: RequestInit<T[K]> } : T

type RequestOf<D> = D extends MethodDefinition<infer Q, any> ? Q : never
type Unary<D> = D extends MethodDefinition<infer Q, infer R> & { responseStream: false } ? (req?: RequestInit<Q>, options?: CallOptions) => Promise<R> : never
type Streaming<D> = D extends MethodDefinition<infer Q, infer R> & { responseStream: true } ? (req?: RequestInit<Q>, options?: CallOptions) => AsyncIterable<R> : never
type Session<D> = D extends MethodDefinition<infer Q, infer R> & { requestStream: true } ? (first: RequestInit<Q>, input: AsyncIterable<RequestInit<Q>>, options?: CallOptions) => AsyncIterable<R> : never
/** A client for a service: unary methods return a promise, server-streaming ones an async iterable; a method whose
 * caller streams too takes its first message and an async iterable of the rest. */
export type ServiceClient<S> = { [K in keyof S]: S[K] extends { requestStream: true } ? Session<S[K]> : S[K] extends { responseStream: true } ? Streaming<S[K]> : Unary<S[K]> }
/** How each method's request is completed with its defaults: the generated message's `fromPartial`. */
export type RequestDefaults<S> = { [K in keyof S]: { fromPartial: (init: any) => RequestOf<S[K]> } }

/** HTTP/2 flow-control window: a 500 MB stream took 0.9 s through Node's default 64 KB, 0.57 s through this. */
const WINDOW = 4 * 1024 * 1024

/** The material of an mTLS connection: the CA the node's certificate must be signed by, and the client's own. */
export interface TlsMaterial {
  ca: string | Buffer
  cert: string | Buffer
  key: string | Buffer
  /** The name the node's certificate must be for; TLS_SERVER_NAME unless given. */
  servername?: string
}

export interface ChannelOptions {
  /** The daemon's frame socket, or how to find it on the first call: calls go there instead, and node:http2 is never
   * loaded (not with `tls` or `peer`). */
  frameSock?: string | (() => string | undefined)
  /** Speak mTLS on the socket. */
  tls?: TlsMaterial
  /** Sent as the `aurae-peer` header on every call: the node forwards the call to that trusted peer. */
  peer?: string
}

/** The one HTTP/2 session a channel and the channels made from it (`forPeer`) share. */
interface Connection {
  session?: ClientHttp2Session
  /** Calls open on it: while there are none, the connection keeps no process alive. */
  open: number
  /** Whether the node has spoken HTTP/2 on it (sent its settings). */
  spoke: boolean
}

/** The node closed a connection before it spoke HTTP/2: over mTLS, it refused the client's certificate (TLS 1.3 ends
 * the client's side of the handshake before the node has checked it); in plaintext, it was no gRPC socket. */
export const CLOSED_UNSPOKEN = 'ERR_AURAE_CLOSED_UNSPOKEN'
export const TLS_REFUSED = 'ERR_AURAE_TLS_REFUSED'

/** One HTTP/2 connection to the daemon's socket, opened on first use and shared by every call. */
export class Channel {
  private readonly connection: Connection

  /** `mapError` turns a failed call into what the caller throws. */
  constructor (private readonly sock: string, private readonly mapError: (err: GrpcError) => Error = err => err, private readonly options: ChannelOptions = {}, connection?: Connection) {
    this.connection = connection ?? { open: 0, spoke: false }
  }

  private frameSock (): string | undefined {
    const { frameSock } = this.options
    if (typeof frameSock !== 'function') return frameSock
    this.options.frameSock = frameSock()
    return this.options.frameSock
  }

  /** The same node's connection, each call addressed to its trusted peer `name`, which the node forwards it to. */
  forPeer (name: string): Channel {
    return new Channel(this.sock, this.mapError, { tls: this.options.tls, peer: name }, this.connection)
  }

  /** A client whose methods make calls on this channel, each request completed by `defaults`. */
  client<S extends Record<string, MethodDefinition<any, any>>>(service: S, defaults: RequestDefaults<S>): ServiceClient<S> {
    const methods: Record<string, unknown> = {}
    for (const [key, def] of Object.entries(service)) {
      const complete = (init: unknown): unknown => defaults[key].fromPartial(init ?? {})
      methods[key] = def.requestStream
        ? (first: unknown, input: AsyncIterable<unknown>, options?: CallOptions) => this.stream(def, complete(first), options?.signal, completed(input, complete))
        : def.responseStream
        ? (req: unknown, options?: CallOptions) => this.stream(def, complete(req), options?.signal)
        : async (req: unknown, options?: CallOptions) => await this.unary(def, complete(req), options?.signal)
    }
    return methods as ServiceClient<S>
  }

  /** Closes the connection; calls still open end as cancelled or unreachable. */
  close (): void {
    this.connection.session?.close()
    this.connection.session = undefined
  }

  private async unary<Req, Res>(def: MethodDefinition<Req, Res>, req: Req, signal?: AbortSignal): Promise<Res> {
    let only: Res | undefined
    for await (const res of this.stream(def, req, signal)) only = res
    if (only === undefined) throw this.mapError(new GrpcError(Status.INTERNAL, `no response to ${def.path}`))
    return only
  }

  private async * stream<Req, Res>(def: MethodDefinition<Req, Res>, req: Req, signal?: AbortSignal, input?: AsyncIterable<Req>): AsyncGenerator<Res> {
    try {
      yield * this.exchange(def, req, signal, input)
    } catch (err) {
      throw err instanceof GrpcError ? this.mapError(err) : err
    }
  }

  /** Sends one request (then `input`'s messages, as the server takes them) and yields each response message until
   * the server's status, or until `signal` aborts. */
  private async * exchange<Req, Res>(def: MethodDefinition<Req, Res>, req: Req, signal?: AbortSignal, input?: AsyncIterable<Req>): AsyncGenerator<Res> {
    // A function, not a field read: the signal changes under the awaits below.
    const aborted = (): boolean => signal?.aborted === true
    if (signal !== undefined && aborted()) throw cancelled(def.path, signal)
    const frameSock = this.options.tls === undefined && this.options.peer === undefined ? this.frameSock() : undefined
    if (frameSock !== undefined) {
      const serialized = input === undefined ? undefined : mapped(input, def.requestSerialize)
      try {
        for await (const message of frameCall(frameSock, def.path, def.requestSerialize(req), signal, serialized)) {
          if (aborted()) break
          yield def.responseDeserialize(message)
        }
        if (signal !== undefined && aborted()) throw cancelled(def.path, signal)
        return
      } catch (err) {
        // A frame socket that takes no connection (one seen refusing while its daemon had just started) costs the
        // call nothing: it goes over HTTP/2, as for a daemon without one.
        if (!(err instanceof FrameSocketRefused)) throw err
      }
    }
    const stream = this.open(def.path)
    const onAbort = (): void => { stream.close(constants.NGHTTP2_CANCEL) }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (input === undefined) stream.end(grpcFrame(def.requestSerialize(req)))
    else {
      stream.write(grpcFrame(def.requestSerialize(req)))
      void sendAll(stream, input, def.requestSerialize).catch(() => { if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL) })
    }
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
      for await (const message of messagesOf(stream)) {
        if (aborted()) break
        yield def.responseDeserialize(message)
      }
    } catch (err) {
      if (err instanceof GrpcError) throw err
      failure ??= err as Error
    } finally {
      signal?.removeEventListener('abort', onAbort)
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL)
    }
    if (signal !== undefined && aborted()) throw cancelled(def.path, signal)
    // A connection the node closed or reset before it spoke HTTP/2 is one it would not take (which of the two depends
    // on whether the request was still unread when it closed).
    if ((failure === undefined || wasReset(failure)) && status === undefined && !this.connection.spoke) {
      const tls = this.options.tls !== undefined
      throw this.unavailable(Object.assign(new Error(tls ? 'the node ended the TLS connection before answering: it did not accept the client certificate' : 'the node closed the connection before answering'), { code: tls ? TLS_REFUSED : CLOSED_UNSPOKEN, cause: failure }))
    }
    if (failure !== undefined) throw this.unavailable(failure)
    if (status === undefined) throw new GrpcError(Status.UNAVAILABLE, `the connection to ${this.sock} closed mid-call`)
    if (status.code !== Status.OK) throw new GrpcError(status.code, status.details)
  }

  private open (path: string): ClientHttp2Stream {
    const conn = this.connection
    if (conn.session === undefined || conn.session.closed || conn.session.destroyed) {
      const { tls } = this.options
      const sock = this.sock
      // Large windows: attached output streams in messages of hundreds of KB.
      const session = tls === undefined
        ? connectH2('http://localhost', { createConnection: () => createConnection(sock), settings: { initialWindowSize: WINDOW } })
        : connectH2('https://localhost', {
          createConnection: () => connectTls({ path: sock, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername ?? TLS_SERVER_NAME, ALPNProtocols: ['h2'] }),
          settings: { initialWindowSize: WINDOW }
        })
      session.once('connect', () => session.setLocalWindowSize(WINDOW))
      // Failures surface on each call's stream.
      session.on('error', () => {})
      session.once('remoteSettings', () => { conn.spoke = true })
      conn.session = session
      conn.open = 0
      conn.spoke = false
    }
    const session = conn.session
    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc+proto',
      te: 'trailers'
    }
    if (this.options.peer !== undefined) headers['aurae-peer'] = this.options.peer
    const stream = session.request(headers)
    // An idle connection holds no process open: a script or command ends when its work does, without a close().
    if (conn.open++ === 0) session.ref()
    stream.once('close', () => { if (--conn.open === 0 && conn.session === session && !session.destroyed) session.unref() })
    return stream
  }

  /** The call could not reach the node; the connection's own failure is the cause, to say why. */
  private unavailable (err: Error): GrpcError {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    return Object.assign(new GrpcError(Status.UNAVAILABLE, `${code !== '' ? `${code}: ` : ''}${err.message}`), { cause: err })
  }
}

/** Whether `err` (or what caused it) is the peer resetting the connection. */
function wasReset (err: Error): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (['ECONNRESET', 'EPIPE'].includes((e as NodeJS.ErrnoException).code ?? '')) return true
  }
  return false
}

/** A gRPC message on the wire: uncompressed, its length, its bytes. */
function grpcFrame (body: Buffer): Buffer {
  const frame = Buffer.alloc(5 + body.length)
  frame.writeUInt32BE(body.length, 1)
  body.copy(frame, 5)
  return frame
}

/** The rest of a streaming caller's messages, each once HTTP/2 has taken the one before; then the end of its side. */
async function sendAll<Req> (stream: ClientHttp2Stream, input: AsyncIterable<Req>, serialize: (req: Req) => Buffer): Promise<void> {
  for await (const req of input) {
    if (stream.closed) return
    if (!stream.write(grpcFrame(serialize(req)))) await firstEvent([stream, 'drain'], [stream, 'close'])
  }
  if (!stream.closed) stream.end()
}

/** Each message of `input` as its bytes. */
async function * mapped<Req> (input: AsyncIterable<Req>, serialize: (req: Req) => Buffer): AsyncGenerator<Buffer> {
  for await (const req of input) yield serialize(req)
}

/** Each message of `input` completed with its defaults. */
async function * completed (input: AsyncIterable<unknown>, complete: (init: unknown) => unknown): AsyncGenerator<unknown> {
  for await (const init of input) yield complete(init)
}

/** The failure of a call its caller aborted, with the abort's reason as its cause. */
function cancelled (path: string, signal: AbortSignal): CancelledError {
  return new CancelledError(`${path.slice(path.lastIndexOf('/') + 1)} was cancelled by its caller`, { cause: signal.reason })
}
