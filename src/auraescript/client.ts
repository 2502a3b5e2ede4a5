// AuraeScript's client of a node and the `XServiceClient` classes over it: each method a call on the client's channel
// (src/client/channel.ts), its failure thrown as the taxonomy's class with the gRPC status it came as and the script's
// own line where the call was made.
import { statSync } from 'node:fs'
import { Channel, CLOSED_UNSPOKEN, TLS_REFUSED, type MethodDefinition, type RequestDefaults, type ServiceClient, type TlsMaterial } from '../client/channel.ts'
import { frameSocketBeside } from '../client/connect.ts'
import type { GrpcError } from '../client/grpc-error.ts'
import { DaemonUnreachableError } from '../errors.ts'
import { fromStatus, status } from '../grpc-status.ts'

/** A connection to a node (or, through it, to one of its trusted peers), for `new cells.CellServiceClient(client)`. */
export class AuraeClient {
  /** Made by aurae.createClient(); nothing connects until the first call. */
  constructor (readonly socket: string, readonly channel: Channel, readonly peerName?: string) {}

  /** The same services on the trusted peer `name`: the node forwards each call there over the mesh. */
  peer (name: string): AuraeClient {
    return new AuraeClient(this.socket, this.channel.forPeer(name), name)
  }
}

/** A client of the node on `socket`: mTLS with `tls`, else the owner-only socket (over its frame socket when it has one). */
export function clientOn (socket: string, tls?: TlsMaterial): AuraeClient {
  const mapError = (err: GrpcError): Error => scriptError(err, socket)
  const options = tls !== undefined ? { tls } : { frameSock: () => frameSocketOf(socket) }
  return new AuraeClient(socket, new Channel(socket, mapError, options))
}

const STATUS_NAMES = Object.fromEntries(Object.entries(status).map(([name, code]) => [code, name]))

/** The node's frame socket beside its owner-only `socket`, if it has one (and they have one owner). */
function frameSocketOf (socket: string): string | undefined {
  const st = statSync(socket, { throwIfNoEntry: false })
  return st === undefined ? undefined : frameSocketBeside(socket, st.uid)
}

/** A failed call as a script sees it: the taxonomy's class, with `grpcStatus` naming the status (`NOT_FOUND`). */
export function scriptError (err: GrpcError, socket: string): Error {
  if (err.code === status.UNAVAILABLE && err.cause instanceof Error) {
    return new DaemonUnreachableError(`cannot reach the node at ${socket}: ${unreachableReason(err.cause)}`, socket)
  }
  return Object.assign(fromStatus(err.code, err.details), { grpcStatus: STATUS_NAMES[err.code] ?? `status ${err.code}` })
}

/** Why a connection failed, in a few words, from the socket's own failure (HTTP/2's cancelled stream has it as cause). */
export function unreachableReason (failure: Error): string {
  let err = failure
  while (/^ERR_HTTP2_/.test((err as NodeJS.ErrnoException).code ?? '') && err.cause instanceof Error) err = err.cause
  const code = (err as NodeJS.ErrnoException).code ?? ''
  if (code === 'ENOENT') return 'no such socket (is auraed running?)'
  if (code === 'ECONNREFUSED') return 'connection refused (nothing serves the socket)'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied on the socket'
  if (code === 'ENOTSOCK') return 'not a socket'
  if (code === TLS_REFUSED) return 'TLS handshake failed: certificate not accepted by the node'
  if (code === CLOSED_UNSPOKEN) return 'the node closed the connection before answering (an mTLS socket? its client config names its certificates)'
  if (/ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED|HANDSHAKE_FAILURE)/.test(code)) {
    return 'TLS handshake failed: certificate not accepted by the node'
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME/.test(code)) return `TLS handshake failed: the node's certificate is not trusted (${code})`
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return `TLS handshake failed: ${err.message}`
  if (code === 'ECONNRESET') return 'the node closed the connection (a TLS client on a plaintext socket, or the other way round?)'
  return err.message
}

/** A script's `new XServiceClient(client)` class for `service`: lower-camel methods, each request completed by
 * `defaults`; unary ones return a promise, server-streaming ones an async iterable. */
export function serviceClient<S extends Record<string, MethodDefinition<any, any>>> (service: S, defaults: RequestDefaults<S>, defaultClient: () => AuraeClient): new (client?: AuraeClient) => ServiceClient<S> {
  return class {
    constructor (client: AuraeClient = defaultClient()) {
      const calls = client.channel.client(service, defaults) as Record<string, (...args: unknown[]) => unknown>
      const self = this as unknown as Record<string, unknown>
      for (const [key, def] of Object.entries(service)) {
        const call = calls[key]
        self[key] = def.responseStream
          ? function streaming (...args: unknown[]) {
            return locatedStream(call(...args) as AsyncIterable<unknown>, callSite(streaming))
          }
          : async function unary (...args: unknown[]) {
            const site = callSite(unary)
            try {
              return await call(...args)
            } catch (err) {
              throw located(err, site)
            }
          }
      }
    }
  } as new (client?: AuraeClient) => ServiceClient<S>
}

/** The script's stack where it made a call (without the SDK's frames), formatted only if the call fails. */
function callSite (fn: Function): { stack?: string } {
  const site = {}
  Error.captureStackTrace(site, fn)
  return site
}

/** `err` with the stack of the call that failed, so its report names the script's line, not the transport's. */
function located (err: unknown, site: { stack?: string }): unknown {
  if (err instanceof Error) err.stack = `${err.name}: ${err.message}\n${(site.stack ?? '').split('\n').slice(1).join('\n')}`
  return err
}

async function * locatedStream<T> (stream: AsyncIterable<T>, site: { stack?: string }): AsyncGenerator<T> {
  try {
    yield * stream
  } catch (err) {
    throw located(err, site)
  }
}
