// Turns typed handlers into grpc-js service implementations: caller identity, authorization and error mapping in one place.
import type { ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation, sendUnaryData } from '@grpc/grpc-js'
import type { Caller } from '../authz.ts'
import { toStatus } from '../grpc-status.ts'

type Req<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never
type Res<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never

export interface UnaryHandler<Q, S> {
  /** What the call acts on, for authorization; empty when nothing in particular. */
  target?: (req: Q) => string
  unary: (req: Q, caller: Caller) => Promise<S>
}

export interface StreamHandler<Q, S> {
  target?: (req: Q) => string
  stream: (req: Q, send: (res: S) => Promise<void>, signal: AbortSignal, caller: Caller) => Promise<void>
}

/** One typed handler per method of a generated service definition. */
export type Handlers<D> = {
  [K in keyof D]: D[K] extends { responseStream: true } ? StreamHandler<Req<D[K]>, Res<D[K]>> : UnaryHandler<Req<D[K]>, Res<D[K]>>
}

export interface ServeContext {
  /** The caller on this transport (the local socket's owner). */
  caller: Caller
  /** The one authorization function; throws to refuse. */
  authorize: (caller: Caller, method: string, target: string) => void
  onError: (method: string, err: unknown) => void
}

/** Wraps `handlers` for grpc-js; `service` prefixes method names for authorization (`node.Status`). */
export function serve<D extends Record<string, { path: string, responseStream: boolean }>> (service: string, definition: D, handlers: Handlers<D>, ctx: ServeContext): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {}
  for (const key of Object.keys(definition)) {
    const method = `${service}.${definition[key].path.split('/').pop() ?? key}`
    const handler = handlers[key as keyof D] as UnaryHandler<unknown, unknown> | StreamHandler<unknown, unknown>
    const report = (err: unknown): Error => {
      const status = toStatus(err)
      if (status.code === 13) ctx.onError(method, err)
      return status
    }
    if ('stream' in handler) {
      impl[key] = (call: ServerWritableStream<unknown, unknown>) => {
        const ac = new AbortController()
        call.on('cancelled', () => ac.abort())
        call.on('close', () => ac.abort())
        const send = async (res: unknown): Promise<void> => {
          if (ac.signal.aborted) throw Object.assign(new Error('the client went away'), { name: 'AbortError' })
          if (!call.write(res)) await new Promise<void>(resolve => { call.once('drain', resolve); ac.signal.addEventListener('abort', () => resolve()) })
        }
        void (async () => {
          ctx.authorize(ctx.caller, method, handler.target?.(call.request) ?? '')
          await handler.stream(call.request, send, ac.signal, ctx.caller)
        })().then(() => { if (!ac.signal.aborted) call.end() }, err => { if (!ac.signal.aborted) call.emit('error', report(err)) })
      }
    } else {
      impl[key] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        void (async () => {
          ctx.authorize(ctx.caller, method, handler.target?.(call.request) ?? '')
          return await handler.unary(call.request, ctx.caller)
        })().then(res => callback(null, res), err => callback(report(err)))
      }
    }
  }
  return impl
}
