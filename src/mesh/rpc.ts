// /aurae/rpc/1.0.0 as a libp2p service: remote calls between trusted nodes. The caller sends one request frame and
// reads the response frames at its own pace; the callee serves the call through the node's own handlers (`dispatch`).
// A stream is opened ahead for the next call to a peer (spare-streams.ts).
import { serviceCapabilities, type Connection, type PeerId, type Startable, type Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { CancelledError, InvalidArgumentError, PeerUnreachableError, messageOf, type AuraeError } from '../errors.ts'
import { RpcCredit, RpcRequest, RpcResponse } from '../gen/aurae/mesh/v0/mesh.ts'
import { fromStatus, toStatus } from '../grpc-status.ts'
import { isDirectConnection, relayOf } from './addresses.ts'
import { CALL_TIMEOUT_MS, dial, openStream, type Connections } from './open-stream.ts'
import { frame, pacedFrames } from './paced-frames.ts'
import { InputQueue, RPC_INPUT_WINDOW } from './rpc-input.ts'
import { RPC_WINDOW, SendWindow, TakenCounter } from './rpc-window.ts'
import { SpareStreams } from './spare-streams.ts'
import type { TrustedPeers } from './trusted.ts'

export const RPC_PROTOCOL = '/aurae/rpc/1.0.0'
const MAX_FRAME = 4 * 1024 * 1024
/** How long a trusted peer's call stream may wait for its request (a spare opened ahead), and how long a spare is used. */
const SPARE_IDLE_MS = 30_000
const SPARE_MAX_AGE_MS = 20_000

/** Who a call from the mesh comes from, as the node's authorization knows callers (node/api/authz.ts `Caller`). */
export interface PeerCaller { kind: 'peer', peerId: string, name: string }

/** Serves a call that arrived from a peer, through the same handlers as the local API; `input` holds the caller's
 * further request messages (read only by a method whose caller streams). */
export type Dispatch = (path: string, payload: Buffer, caller: PeerCaller, send: (payload: Buffer) => Promise<void>, signal: AbortSignal, input: AsyncIterable<Buffer>) => Promise<void>

export interface RpcInit {
  trusted: Pick<TrustedPeers, 'has' | 'get' | 'lookup' | 'watch'>
  /** This node's name, sent with each call (the callee goes by the name it peered with, when it has one). */
  self: () => { name: string }
  dispatch: Dispatch
}

export interface RpcComponents {
  registrar: Pick<Registrar, 'handle' | 'unhandle'>
  connectionManager: Connections
}

export class RpcService implements Startable {
  readonly [Symbol.toStringTag] = 'aurae/rpc'
  readonly [serviceCapabilities] = ['@aurae/rpc']
  /** A call stream opened ahead for each peer called lately, and the connection it is on. */
  private readonly spares: SpareStreams<Stream>
  private readonly streamConnection = new WeakMap<Stream, Connection>()
  private unwatch?: () => void

  constructor (private readonly components: RpcComponents, private readonly init: RpcInit) {
    this.spares = new SpareStreams(async peerId => await this.openSpare(peerIdFromString(peerId)), SPARE_MAX_AGE_MS, (stream, peerId) => {
      // Only while no other path could carry the call: every open connection to the peer goes the spare's way
      // (itself, or through the same relay). With a direct one beside a relayed one, a new call must take the
      // direct one and fall back to the relay if that path died unnoticed: a stream opened ahead proves nothing
      // about the path now, where opening one does (openStream).
      const on = this.streamConnection.get(stream)
      const open = this.components.connectionManager.getConnections(peerIdFromString(peerId)).filter(c => c.status === 'open')
      return on !== undefined && open.includes(on) && open.every(c => pathOf(c) === pathOf(on))
    })
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(RPC_PROTOCOL, async (stream, connection) => await this.onRpc(stream, connection), { runOnLimitedConnection: true })
    // Who peers is about to call: the first call finds its stream open. Who is no longer trusted gets no call.
    this.unwatch = this.init.trusted.watch(({ trusted, peer }) => trusted ? this.spares.fill(peer.peerId) : this.spares.drop(peer.peerId))
  }

  async stop (): Promise<void> {
    this.unwatch?.()
    this.spares.clear()
    await this.components.registrar.unhandle(RPC_PROTOCOL)
  }

  /** Sends one call to a trusted peer over /aurae/rpc/1.0.0 and hands back its responses; `input` streams the
   * caller's further request messages, within the window the callee grants. */
  async forward (who: string, path: string, payload: Buffer, onPayload: (payload: Buffer) => Promise<void>, signal: AbortSignal, input?: AsyncIterable<Buffer>): Promise<void> {
    const record = this.init.trusted.lookup(who)
    const stream = await this.openCall(record.peerId, who, signal)
    const onAbort = (): void => stream.abort(new Error('the caller went away'))
    const inputWindow = new SendWindow(RPC_INPUT_WINDOW)
    signal.addEventListener('abort', onAbort)
    // The peer's own answer that the call failed, as the class it threw; anything else is a lost peer.
    let remoteFailure: AuraeError | undefined
    try {
      stream.send(frame(RpcRequest.encode({ method: path, payload, callerName: this.init.self().name, window: RPC_WINDOW }).finish()))
      if (input !== undefined) void sendInput(stream, input, inputWindow, signal).catch(err => stream.abort(err instanceof Error ? err : new Error(String(err))))
      // Read at the caller's pace: a slow caller (an attached run piped into something slow) slows the peer, through
      // the transport's flow control and, where that cannot (WebRTC), through the call's own window.
      const taken = new TakenCounter(RPC_WINDOW)
      let ended = false
      for await (const bytes of pacedFrames(stream, MAX_FRAME)) {
        const res = RpcResponse.decode(bytes)
        if (res.inputCredit > 0) {
          inputWindow.grant(Number(res.inputCredit))
          continue
        }
        if (!res.end) {
          await onPayload(Buffer.from(res.payload))
          const grant = taken.took(bytes.byteLength)
          if (grant > 0) stream.send(frame(RpcCredit.encode({ bytes: grant, input: Buffer.alloc(0), inputEnd: false }).finish()))
          continue
        }
        if (res.code !== 0) {
          remoteFailure = fromStatus(res.code, res.error)
          throw remoteFailure
        }
        ended = true
        break
      }
      inputWindow.close()
      if (!ended) throw new Error('the peer closed the call without an answer')
      await stream.close().catch(() => {})
    } catch (err) {
      inputWindow.close()
      if (err === remoteFailure) throw err
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (signal.aborted) throw new CancelledError('cancelled')
      await this.components.connectionManager.closeConnections(peerIdFromString(record.peerId)).catch(() => {})
      throw new PeerUnreachableError(`lost ${who} during the call: ${messageOf(err)}`)
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * A call stream opened ahead, on the connection a call would take now (none is dialled for it). Unlike a call's,
   * a failure here drops nothing: the call that would have used the spare opens its own stream.
   */
  private async openSpare (peer: PeerId): Promise<Stream> {
    const cm = this.components.connectionManager
    if (!cm.getConnections(peer).some(c => c.status === 'open')) throw new Error('not connected')
    const signal = AbortSignal.timeout(CALL_TIMEOUT_MS)
    const connection = await dial(cm, peer, signal)
    const stream = await connection.newStream(RPC_PROTOCOL, { signal, runOnLimitedConnection: true })
    this.streamConnection.set(stream, connection)
    return stream
  }

  /** Opens a call's stream to a trusted peer (see openStream); a peer that cannot be reached is PeerUnreachableError. */
  private async openCall (peerId: string, who: string, signal: AbortSignal): Promise<Stream> {
    try {
      let stream = await this.spares.take(peerId)
      if (stream === undefined) {
        const opened = await openStream(this.components.connectionManager, peerIdFromString(peerId), RPC_PROTOCOL, signal)
        this.streamConnection.set(opened.stream, opened.connection)
        stream = opened.stream
      }
      // The next call to this peer finds its stream ready.
      this.spares.fill(peerId)
      return stream
    } catch (err) {
      if (err instanceof PeerUnreachableError) throw err
      throw new PeerUnreachableError(`${who} is unreachable: ${messageOf(err)}`)
    }
  }

  /** The callee's side of a remote call: one request frame in, response frames out, then the end. */
  private async onRpc (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    const remote = connection.remotePeer.toString()
    const ac = new AbortController()
    stream.addEventListener('close', () => ac.abort())
    let window: SendWindow | undefined
    const respond = async (res: Partial<RpcResponse>): Promise<void> => {
      const bytes = RpcResponse.encode({ payload: Buffer.alloc(0), code: 0, error: '', end: false, inputCredit: 0, ...res }).finish()
      if (res.end !== true) await window?.take(bytes.byteLength, ac.signal)
      await lp.write(bytes)
    }
    try {
      let req: RpcRequest
      try {
        // A trusted peer may open its stream ahead of the call (spare-streams.ts); anyone else must ask at once.
        const wait = this.init.trusted.has(remote) ? SPARE_IDLE_MS : CALL_TIMEOUT_MS
        req = RpcRequest.decode((await lp.read({ signal: AbortSignal.timeout(wait) })).subarray())
      } catch (err) {
        throw new InvalidArgumentError(`malformed or oversized request frame: ${messageOf(err)}`)
      }
      const w = window = req.window > 0 ? new SendWindow(req.window) : undefined
      // Input taken by the handler is granted back at once, outside the response window: a grant never waits.
      const input = new InputQueue(bytes => { void lp.write(RpcResponse.encode({ payload: Buffer.alloc(0), code: 0, error: '', end: false, inputCredit: bytes }).finish()).catch(() => {}) })
      void (async () => {
        for (;;) {
          const credit = RpcCredit.decode((await lp.read({ signal: ac.signal })).subarray())
          if (credit.bytes > 0) w?.grant(Number(credit.bytes))
          if (credit.input.length > 0) input.push(Buffer.from(credit.input))
          if (credit.inputEnd) input.end()
        }
      })().catch(err => {
        w?.close()
        input.fail(err instanceof Error ? err : new Error(String(err)))
        // A caller past its input window, or one whose frames make no sense, loses the call.
        if (!ac.signal.aborted) stream.abort(err instanceof Error ? err : new Error(String(err)))
      })
      const caller: PeerCaller = { kind: 'peer', peerId: remote, name: (this.init.trusted.get(remote)?.name ?? '') || req.callerName }
      await this.init.dispatch(req.method, Buffer.from(req.payload), caller, async payload => await respond({ payload }), ac.signal, input)
      await respond({ end: true })
      await stream.close()
    } catch (err) {
      if (ac.signal.aborted) return
      const status = toStatus(err)
      await respond({ end: true, code: status.code, error: status.details }).catch(() => {})
      await stream.close().catch(() => stream.abort(new Error('closed')))
    }
  }
}

/** The caller's side of the input direction: each request message, once the callee's window has room for it, then
 * the end of input. */
async function sendInput (stream: Stream, input: AsyncIterable<Buffer>, window: SendWindow, signal: AbortSignal): Promise<void> {
  for await (const payload of input) {
    if (payload.length > RPC_INPUT_WINDOW) throw new InvalidArgumentError(`an input message of ${payload.length} bytes is larger than the input window`)
    await window.take(payload.length, signal)
    stream.send(frame(RpcCredit.encode({ bytes: 0, input: payload, inputEnd: false }).finish()))
  }
  stream.send(frame(RpcCredit.encode({ bytes: 0, input: Buffer.alloc(0), inputEnd: true }).finish()))
}

/** The service factory, for createLibp2p's `services`. */
export function rpc (init: RpcInit): (components: RpcComponents) => RpcService {
  return components => new RpcService(components, init)
}

/** The way a connection goes: on its own (direct, WebRTC included), or through a relay (named by its address). */
function pathOf (c: Connection): string {
  return isDirectConnection(c) ? c.id : relayOf(c.remoteAddr) ?? c.id
}
