// The one place requests enter: caller identity, routing to other nodes, authorization and error
// mapping, for calls over the local gRPC socket and over the mesh alike.
import type { ServerDuplexStream, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation, sendUnaryData } from '@grpc/grpc-js'
import { CancelledError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '../../errors.ts'
import type { Access, Caller, MethodRule, Target } from './authz.ts'
import { toStatus } from '../../grpc-status.ts'
import { firstEvent } from '../../common/first-event.ts'
import { parseNodeName } from '../../names/parse.ts'
import { TLS_CLIENT_SUFFIX } from '../../common/node-defaults.ts'

/** The gRPC metadata that sends a call as is to a trusted peer: `aurae-peer: NAME[@DOMAIN]`. */
export const PEER_HEADER = 'aurae-peer'

/** What every kind of grpc-js call has: its metadata and how its connection was secured. */
type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>

/** Who makes a call that came over gRPC, from the call itself. */
export type CallerOf = (call: ServerSurfaceCall) => Caller

/**
 * The caller of a gRPC call: on the mTLS socket, the identity of the certificate its handshake verified; on the
 * owner-only socket (the one served in plaintext), `local`. grpc-js reports a TLS connection only once the client's
 * certificate is verified (the server requires it), so a plaintext call cannot pass for an identity, nor the reverse.
 */
export function grpcCaller (local: Caller): CallerOf {
  return call => {
    const auth = call.getAuthContext()
    if (auth.transportSecurityType === undefined) return local
    const cert = auth.sslPeerCertificate
    const cn = cert?.subject?.CN
    if (typeof cn !== 'string' || cn === '') throw new PermissionDeniedError('the client certificate names no one: its subject has no CN')
    const spiffe = /(?:^|, )URI:(spiffe:\/\/[^,\s"]+)/.exec(cert?.subjectaltname ?? '')?.[1] ?? ''
    return { kind: 'identity', name: cn.endsWith(TLS_CLIENT_SUFFIX) ? cn.slice(0, -TLS_CLIENT_SUFFIX.length) : cn, spiffe }
  }
}

/** The peer a call's metadata sends it to (`aurae-peer`), checked; undefined when it names none. */
function peerOf (call: ServerSurfaceCall): string | undefined {
  const values = call.metadata.get(PEER_HEADER)
  if (values.length === 0) return undefined
  if (values.length > 1) throw new InvalidArgumentError(`${PEER_HEADER} names more than one peer`)
  const { peer, domain } = parseNodeName(String(values[0]))
  return domain === '' ? peer : `${peer}@${domain}`
}

type Req<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never
type Res<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never

/** Which field of a request names its target (`job`, `job@emily`), and how to rewrite it. */
export interface Route<Q> {
  get: (req: Q) => string
  set: (req: Q, local: string) => Q
}

/** The route of requests whose `name` field is the target. */
export function byName<Q extends { name: string }> (): Route<Q> {
  return { get: req => req.name, set: (req, name) => ({ ...req, name }) }
}

/** The route of requests that name only a node, as `peer` (`emily` or `@emily`). */
export function byPeer<Q extends { peer: string }> (): Route<Q> {
  return { get: req => req.peer === '' ? '' : `@${req.peer.replace(/^@/, '')}`, set: req => ({ ...req, peer: '' }) }
}

/** What every handler declares about who may call it (authz.ts decides on it). */
interface Declared {
  /** This machine's own user only, or trusted peers as well. */
  access: Access
  /** Served before `aurae up` has named the node. */
  beforeUp?: true
}

export interface UnaryHandler<Q, S> extends Declared {
  route?: Route<Q>
  unary: (req: Q, caller: Caller) => Promise<S>
}

export interface StreamHandler<Q, S> extends Declared {
  route?: Route<Q>
  stream: (req: Q, send: (res: S) => Promise<void>, signal: AbortSignal, caller: Caller) => Promise<void>
}

/** A call whose caller streams too: its first message (which the route reads), then the rest as they come. */
export interface SessionHandler<Q, S> extends Declared {
  route?: Route<Q>
  session: (first: Q, input: AsyncIterable<Q>, send: (res: S) => Promise<void>, signal: AbortSignal, caller: Caller) => Promise<void>
}

/** One typed handler per method of a generated service definition. */
export type Handlers<D> = {
  [K in keyof D]: D[K] extends { requestStream: true } ? SessionHandler<Req<D[K]>, Res<D[K]>>
    : D[K] extends { responseStream: true } ? StreamHandler<Req<D[K]>, Res<D[K]>> : UnaryHandler<Req<D[K]>, Res<D[K]>>
}

/** Where a target lives: here (with the name it has here), or on a peer. */
export type Location = { local: true, entity: string } | { local: false, peer: string }

export interface ApiContext {
  /** The one authorization function (authz.ts); throws to refuse. */
  authorize: (caller: Caller, rule: MethodRule, target: Target) => void
  /** Resolves `entity[@peer[@domain]]` against this node's own name. */
  locate: (target: string) => Location
  /** Sends a request as is to a peer and hands back each response frame. */
  forward: (peer: string, path: string, payload: Buffer, onPayload: (payload: Buffer) => Promise<void>, signal: AbortSignal, input?: AsyncIterable<Buffer>) => Promise<void>
  onError: (method: string, err: unknown) => void
}

/** Serves one call; `via` is the peer its metadata sends it to, as is. */
type Invoke = (req: unknown, caller: Caller, send: (res: unknown) => Promise<void>, signal: AbortSignal, input?: AsyncIterable<unknown>, via?: string) => Promise<void>

interface Method {
  invoke: Invoke
  decode: (b: Buffer) => unknown
  encode: (v: unknown) => Buffer
}

interface MethodDefinition {
  path: string
  requestStream: boolean
  responseStream: boolean
  requestSerialize: (v: any) => Buffer
  requestDeserialize: (b: Buffer) => any
  responseSerialize: (v: any) => Buffer
  responseDeserialize: (b: Buffer) => any
}

export class Api {
  private readonly methods = new Map<string, Method>()

  constructor (private readonly ctx: ApiContext) {}

  /** Registers a service's handlers; returns them wrapped for grpc-js, each call's caller taken from it by `callerOf`. */
  add<D extends Record<string, MethodDefinition>> (service: string, definition: D, handlers: Handlers<D>, callerOf: CallerOf): UntypedServiceImplementation {
    const impl: UntypedServiceImplementation = {}
    for (const key of Object.keys(definition)) {
      const def = definition[key]
      const method = `${service}.${def.path.split('/').pop() ?? key}`
      const handler = handlers[key as keyof D] as UnaryHandler<unknown, unknown> | StreamHandler<unknown, unknown> | SessionHandler<unknown, unknown>
      // Read from the handler as it is: a handler that declares nothing gets `undefined`, which authz refuses.
      const rule: MethodRule = { method, access: handler.access, beforeUp: handler.beforeUp === true }
      const invoke: Invoke = async (req, who, send, signal, input, via) => {
        const target = handler.route?.get(req) ?? ''
        const rest = input ?? noInput()
        // A call whose metadata names a peer other than this node goes there as is; its own target is the peer's to read.
        const sentTo = via === undefined ? undefined : this.ctx.locate(`@${via}`)
        const where = sentTo !== undefined && !sentTo.local ? sentTo : this.ctx.locate(target)
        if (!where.local) {
          this.ctx.authorize(who, rule, { name: target, forwardTo: where.peer })
          const forwarded = 'session' in handler ? mapInput(rest, def.requestSerialize) : undefined
          await this.ctx.forward(where.peer, def.path, def.requestSerialize(req), async bytes => await send(def.responseDeserialize(bytes)), signal, forwarded)
          return
        }
        const local = handler.route !== undefined && target !== '' ? handler.route.set(req, where.entity) : req
        this.ctx.authorize(who, rule, { name: where.entity })
        if ('session' in handler) await handler.session(local, rest, send, signal, who)
        else if ('stream' in handler) await handler.stream(local, send, signal, who)
        else await send(await handler.unary(local, who))
      }
      this.methods.set(def.path, { invoke, decode: def.requestDeserialize, encode: def.responseSerialize })
      impl[key] = def.requestStream ? this.grpcSession(method, invoke, callerOf) : def.responseStream ? this.grpcStream(method, invoke, callerOf) : this.grpcUnary(method, invoke, callerOf)
    }
    return impl
  }

  /** Serves one call that arrived over the mesh: raw request in, raw responses out. */
  async dispatch (path: string, payload: Buffer, caller: Caller, send: (payload: Buffer) => Promise<void>, signal: AbortSignal, input?: AsyncIterable<Buffer>): Promise<void> {
    const method = this.methods.get(path)
    if (method === undefined) throw new NotFoundError(`unknown method ${path}`)
    const decode = (bytes: Buffer): unknown => {
      try {
        return method.decode(bytes)
      } catch {
        throw new InvalidArgumentError(`malformed request for ${path}`)
      }
    }
    await method.invoke(decode(payload), caller, async res => await send(method.encode(res)), signal, input === undefined ? undefined : mapInput(input, decode))
  }

  /** The status a failure is reported with; unexpected failures are logged. */
  report (method: string, err: unknown): ReturnType<typeof toStatus> {
    const status = toStatus(err)
    if (status.code === 13) this.ctx.onError(method, err)
    return status
  }

  private grpcUnary (method: string, invoke: Invoke, callerOf: CallerOf) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      let result: unknown
      const ac = new AbortController()
      call.on('cancelled', () => ac.abort())
      const unary = async (): Promise<void> => await invoke(call.request, callerOf(call), async res => { result = res }, ac.signal, undefined, peerOf(call))
      unary().then(() => callback(null, result), err => callback(this.report(method, err)))
    }
  }

  private grpcStream (method: string, invoke: Invoke, callerOf: CallerOf) {
    return (call: ServerWritableStream<unknown, unknown>) => {
      const ac = new AbortController()
      call.on('cancelled', () => ac.abort())
      call.on('close', () => ac.abort())
      const stream = async (): Promise<void> => await invoke(call.request, callerOf(call), sender(call, ac.signal), ac.signal, undefined, peerOf(call))
      stream().then(() => { if (!ac.signal.aborted) call.end() }, err => { if (!ac.signal.aborted) call.emit('error', this.report(method, err)) })
    }
  }

  /** A call whose client streams too: the first message is the request; grpc-js reads the rest as they are taken. */
  private grpcSession (method: string, invoke: Invoke, callerOf: CallerOf) {
    return (call: ServerDuplexStream<unknown, unknown>) => {
      const ac = new AbortController()
      call.on('cancelled', () => ac.abort())
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<unknown>
      const session = async (): Promise<void> => {
        const who = callerOf(call)
        const via = peerOf(call)
        const first = await messages.next()
        if (first.done === true) throw new InvalidArgumentError(`${method}: the first message must be the request`)
        await invoke(first.value, who, sender(call, ac.signal), ac.signal, { [Symbol.asyncIterator]: () => messages }, via)
      }
      session().then(() => { if (!ac.signal.aborted) call.end() }, err => { if (!ac.signal.aborted) call.emit('error', this.report(method, err)) })
    }
  }
}

/** Writes a response at the client's pace: waits for the stream to drain, or for the client to go away. */
function sender (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>, signal: AbortSignal): (res: unknown) => Promise<void> {
  return async res => {
    if (signal.aborted) throw new CancelledError('the client went away')
    if (call.write(res)) return
    // Each wait takes its listeners back: a follow that runs for days waits millions of times.
    await firstEvent([call, 'drain'], [signal, 'abort'])
  }
}

/** Each message of `input`, converted as it is taken. */
async function * mapInput<A, B> (input: AsyncIterable<A>, convert: (a: A) => B): AsyncGenerator<B> {
  for await (const a of input) yield convert(a)
}

/** The input of a call whose caller does not stream. */
async function * noInput (): AsyncGenerator<never> {}
