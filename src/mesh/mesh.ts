// The mesh: a libp2p host inside auraed, peering by token, and remote calls between trusted nodes.
// Longer than the house's ~300 lines: peering, calls and names share the host and the trust table here until
// issue 10 makes each a libp2p service of its own.
import { createHash } from 'node:crypto'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import { KEEP_ALIVE, type Connection, type PeerId, type Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { CancelledError, FailedPreconditionError, InvalidArgumentError, NotFoundError, PeerUnreachableError, messageOf, type AuraeError } from '../errors.ts'
import { PeerHello, PeerWelcome, RpcCredit, RpcRequest, RpcResponse, type NameRecord, type PeerInfo } from '../gen/aurae/mesh/v0/mesh.ts'
import { formatNodeName } from '../names/parse.ts'
import { fromStatus, toStatus } from '../grpc-status.ts'
import type { NodeKey } from './keys.ts'
import type { Table } from '../store/store.ts'
import { isDirectConnection, relayOf } from './addresses.ts'
import { connectionView } from './connection-view.ts'
import { createHost, type Host } from './host.ts'
import { NameBook } from './name-book.ts'
import { isAddrText, nameKey, signNameRecord } from './names.ts'
import { issueToken, readToken, type TokenRecord } from './token.ts'
import { frame, pacedFrames } from './paced-frames.ts'
import { RPC_WINDOW, SendWindow, TakenCounter } from './rpc-window.ts'
import { SpareStreams } from './spare-streams.ts'
import type { ReachabilityStatus } from './reachability.ts'
import { TrustedPeers, issuerNameRefusal, redeemerNameRefusal, type PeerRecord } from './trusted.ts'

export { KAD_PROTOCOL } from './host.ts'
export const PEER_PROTOCOL = '/aurae/peer/1.0.0'
export const RPC_PROTOCOL = '/aurae/rpc/1.0.0'
const MAX_FRAME = 4 * 1024 * 1024
const CALL_TIMEOUT_MS = 5_000
/**
 * How long redeeming a token may take to reach its issuer: the token's addresses are dialled the likely ones first,
 * the next one joining in when one fails or is slow (nat.ts's dialAt).
 */
const PEERING_DIAL_MS = 15_000
/** How long a call waits for a stream on one connection when the peer has another to fall back to. */
const FALLBACK_AFTER_MS = 2_000
const REPUBLISH_MS = 5 * 60_000
/** How long a trusted peer's call stream may wait for its request (a spare opened ahead), and how long a spare is used. */
const SPARE_IDLE_MS = 30_000
const SPARE_MAX_AGE_MS = 20_000
/** How often trusted peers that are not connected are dialled again, once libp2p's own redials gave up. */
const REDIAL_MS = 15_000
/** A peer's own text in a message (a refusal) is cut to this length. */
const MAX_QUOTED = 300

/** Who a call from the mesh comes from, as the node's authorization knows callers (node/api/authz.ts `Caller`). */
export interface PeerCaller { kind: 'peer', peerId: string, name: string }

export interface MeshInit {
  key: NodeKey
  keyPath: string
  listen: string[]
  bootstrap: string[]
  /** The mesh's tables: the peers it trusts, and the tokens it issued. */
  peers: Table<PeerRecord>
  tokens: Table<TokenRecord>
  self: () => { name: string, domain: string }
  /** Serves a call that arrived from a peer, through the same handlers as the local API. */
  dispatch: (path: string, payload: Buffer, caller: PeerCaller, send: (payload: Buffer) => Promise<void>, signal: AbortSignal) => Promise<void>
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: object) => void
}

/** What `resolve` found: the record a name resolves to here, and any other keys that claim it. */
export interface Resolved {
  record: NameRecord
  /** PeerIds that also claim the name and were refused. */
  others: string[]
  /** True when the name is pinned by peering (or is this node's own). */
  pinned: boolean
}

export class Mesh {
  private host?: Host
  private readonly trusted: TrustedPeers
  /** A call stream opened ahead for each peer called lately (spare-streams.ts), and the connection it is on. */
  private readonly spares: SpareStreams<Stream>
  private readonly streamConnection = new WeakMap<Stream, Connection>()
  private readonly names: NameBook
  private republish?: NodeJS.Timeout
  private reconnecting?: NodeJS.Timeout
  private publishing?: Promise<void>
  private publishAgain = false
  /** The addresses in the record last stored on a peer; undefined until one took it. */
  private published?: string
  /** The admission running now; each waits for the one before, so a token's uses are spent one at a time. */
  private admitting: Promise<unknown> = Promise.resolve()

  constructor (private readonly init: MeshInit) {
    this.trusted = new TrustedPeers(init.peers)
    this.spares = new SpareStreams(async peerId => await this.openSpare(peerIdFromString(peerId)), SPARE_MAX_AGE_MS, (stream, peerId) => {
      // Only while no other path could carry the call: every open connection to the peer goes the spare's way
      // (itself, or through the same relay). With a direct one beside a relayed one, a new call must take the
      // direct one and fall back to the relay if that path died unnoticed: a stream opened ahead proves nothing
      // about the path now, where opening one does (openStream).
      const on = this.streamConnection.get(stream)
      const open = this.host?.getConnections(peerIdFromString(peerId)).filter(c => c.status === 'open') ?? []
      return on !== undefined && open.includes(on) && open.every(c => pathOf(c) === pathOf(on))
    })
    this.names = new NameBook((name, domain) => this.pinnedTo(name, domain))
  }

  async start (): Promise<void> {
    await this.trusted.load()
    let host: Host
    try {
      host = await createHost({ keyPath: this.init.keyPath, listen: this.init.listen, trusts: peerId => this.trusted.has(peerId), names: this.names, log: this.init.log })
    } catch (err) {
      throw new FailedPreconditionError(`cannot start the mesh on ${this.init.listen.join(', ')}: ${messageOf(err)}`)
    }
    this.host = host
    await host.handle(PEER_PROTOCOL, async (stream, connection) => await this.onPeer(stream, connection), { runOnLimitedConnection: true })
    await host.handle(RPC_PROTOCOL, async (stream, connection) => await this.onRpc(stream, connection), { runOnLimitedConnection: true })
    const redial = (target: Parameters<Host['dial']>[0], what: string): void => {
      host.dial(target, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) }).catch(err => this.init.log('warn', 'could not dial', { what, err: messageOf(err) }))
    }
    for (const addr of this.init.bootstrap) redial(multiaddr(addr), addr)
    for (const p of this.trusted.values()) {
      await this.remember(p)
      redial(peerIdFromString(p.peerId), p.name)
    }
    // libp2p redials a kept-alive peer it lost a few times over half a minute, then gives up; a relay that was down
    // longer would never be reached again. Trusted peers not connected are dialled again every REDIAL_MS.
    this.reconnecting = setInterval(() => {
      for (const p of this.trusted.values()) {
        const id = peerIdFromString(p.peerId)
        if (host.getConnections(id).length === 0) host.dial(id, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) }).catch(() => {})
      }
    }, REDIAL_MS).unref()
    // Publish our name now, when our addresses change, on a peer's arrival while no peer has taken the record yet,
    // and every few minutes.
    host.addEventListener('self:peer:update', () => { if (this.published !== undefined && this.published !== this.addrs().join(' ')) this.publish() })
    host.addEventListener('peer:identify', () => { if (this.published === undefined) this.publish() })
    this.republish = setInterval(() => this.publish(), REPUBLISH_MS).unref()
    this.publish()
    this.init.log('info', 'mesh started', { peerId: host.peerId.toString(), addrs: this.addrs() })
  }

  async stop (): Promise<void> {
    this.spares.clear()
    clearInterval(this.republish)
    clearInterval(this.reconnecting)
    await this.host?.stop()
  }

  /** Puts this node's signed name record on the DHT; calls while one runs fold into one more run. */
  publish (): void {
    if (this.publishing !== undefined) {
      this.publishAgain = true
      return
    }
    const host = this.host
    const me = this.init.self()
    if (host === undefined || me.name === '') return
    this.publishing = (async () => {
      const record = { name: me.name, domain: me.domain, peerId: this.init.key.peerId, addrs: this.addrs(), seq: Date.now() }
      for await (const e of host.services.dht.put(nameKey(me.name, me.domain), signNameRecord(this.init.key, record), { signal: AbortSignal.timeout(30_000) })) {
        if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') this.published = record.addrs.join(' ')
      }
    })().catch(err => this.init.log('info', 'name not published yet', { err: messageOf(err) })).finally(() => {
      this.publishing = undefined
      if (this.publishAgain) {
        this.publishAgain = false
        this.publish()
      }
    })
  }

  /**
   * Looks a name up on the DHT. A name pinned by peering resolves to its pinned key, from the peer's own record
   * when the DHT has none of it; any other name to the first key this node saw claim it (see NameBook).
   */
  async resolve (name: string, domain: string): Promise<Resolved> {
    const key = nameKey(name, domain)
    const values: Uint8Array[] = []
    try {
      for await (const event of this.requireHost().services.dht.get(key, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })) {
        if (event.name === 'VALUE') values.push(event.value)
        if (event.name === 'PEER_RESPONSE' && event.record != null) values.push(event.record.value)
      }
    } catch {
      // A lookup cut short (by the timeout, or a node refusing the record it was sent as a correction) still counts what it found.
    }
    const found = this.names.resolve(key, values)
    const record = found.record ?? (found.pinned ? this.pinnedRecord(name, domain) : undefined)
    const full = formatNodeName(name, domain)
    if (record === undefined) {
      if (found.others.length > 1) throw new FailedPreconditionError(`${full} is claimed by several keys (${found.others.join(', ')}); peer with the right node to pin the name`)
      throw new NotFoundError(`no node named ${full} on the mesh`)
    }
    await this.requireHost().peerStore.merge(peerIdFromString(record.peerId), { multiaddrs: parseAddrs(record.addrs) }).catch(() => {})
    return { record, others: found.others, pinned: found.pinned }
  }

  /** Where others can reach this node. WebRTC addresses are left out: a peer reaches us through the relay first, and goes direct from there. */
  addrs (): string[] {
    return this.host?.getMultiaddrs().map(a => a.toString()).filter(a => !a.includes('/webrtc')) ?? []
  }

  trusts (peerId: string): boolean {
    return this.trusted.has(peerId)
  }

  nameOf (peerId: string): string {
    return this.trusted.get(peerId)?.name ?? ''
  }

  /** How others can reach us, as trusted peers' dial-backs told it (see reachability.ts). */
  reachability (): ReachabilityStatus {
    return this.host?.services.reachability.status() ?? { observed: [], reachability: 'unknown', checkedAt: 0 }
  }

  trustedCount (): number {
    return this.trusted.size
  }

  connectedCount (): number {
    return this.host?.getPeers().length ?? 0
  }

  /**
   * Issues a token for this node; only the hash of its secret is kept. The warning says when the token's addresses
   * are known to work only from this node's own network: trusted peers found it cannot be dialled from outside, and
   * it holds no relay slot (yet) to be reached through.
   */
  async token (ttlSeconds: number, uses: number): Promise<{ token: string, expiresAt: number, warning: string }> {
    const addrs = this.addrs()
    if (addrs.length === 0) throw new FailedPreconditionError('the mesh has no addresses to put in a token')
    const expiresAt = Date.now() + ttlSeconds * 1000
    const { token, claims } = issueToken(this.init.key, { ...this.init.self(), addrs, expiresAtMs: expiresAt })
    await this.init.tokens.put(tokenId(claims.secret), { id: tokenId(claims.secret), usesLeft: uses, expiresAt })
    const lanOnly = this.reachability().reachability === 'private' && !addrs.some(a => a.includes('/p2p-circuit'))
    const warning = lanOnly ? 'this node is behind a NAT and holds no relay slot: the token works only from its own network (peer this node with a public one first; it then listens through it)' : ''
    return { token, expiresAt, warning }
  }

  /** Redeems another node's token: dials it, proves the secret, and both sides record the other as trusted. */
  async redeem (text: string): Promise<PeerRecord> {
    const claims = readToken(text)
    if (claims.peerId === this.init.key.peerId) throw new InvalidArgumentError('this token was issued by this node; redeem it on the other one')
    const me = this.init.self()
    const problem = this.trusted.nameProblem(claims.name, claims.domain, claims.peerId, me)
    if (problem !== undefined) throw new FailedPreconditionError(issuerNameRefusal(problem, claims.name, claims.domain))
    const issuer = peerIdFromString(claims.peerId)
    const usable = usableAddrs(claims.addrs)
    if (usable.length === 0) throw new InvalidArgumentError('this peering token carries no address to reach its issuer at')
    const addrs = usable.map(a => withPeer(multiaddr(a), claims.peerId))
    let stream: Stream
    try {
      stream = await this.openStream(issuer, PEER_PROTOCOL, AbortSignal.timeout(PEERING_DIAL_MS), addrs)
    } catch (err) {
      const each: any[] = err instanceof AggregateError ? err.errors : [err]
      if (each.some(e => e?.name === 'UnexpectedPeerError' || /unexpected peer|remote peer id|does not match expected remote identity/i.test(String(e?.message)))) {
        throw new FailedPreconditionError(`the node answering at ${claims.addrs[0].replace(/\/p2p\/.*$/, '')} is not the one that issued this token (${claims.name})`)
      }
      throw new PeerUnreachableError(`cannot reach ${claims.name} at ${claims.addrs.join(', ')}: ${messageOf(err)}`)
    }
    let welcome: PeerWelcome
    try {
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      await lp.write(PeerHello.encode({ secret: Buffer.from(claims.secret), name: me.name, domain: me.domain, addrs: this.addrs(), unpeer: false }).finish())
      welcome = PeerWelcome.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray())
      await stream.close().catch(() => {})
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw new PeerUnreachableError(`${claims.name} did not answer the peering: ${messageOf(err)}`)
    }
    const named = formatNodeName(claims.name, claims.domain)
    if (welcome.error !== '') throw new FailedPreconditionError(`${claims.name} refused: ${welcome.error.slice(0, MAX_QUOTED)}`)
    if (welcome.name !== claims.name || welcome.domain !== claims.domain) {
      throw new FailedPreconditionError(`the node that issued this token answered as ${JSON.stringify(formatNodeName(welcome.name, welcome.domain).slice(0, 64))}, not as ${named}`)
    }
    const record = { peerId: issuer.toString(), name: claims.name, domain: claims.domain, addrs: usable, trustedAt: Date.now() }
    await this.trust(record)
    this.askForSlot(record.peerId)
    return record
  }

  /** Withdraws trust here and, if it can be reached, on the other side too. */
  async unpeer (who: string): Promise<boolean> {
    const record = this.lookup(who)
    await this.forget(record.peerId)
    let notified = false
    try {
      const stream = await this.requireHost().dialProtocol(peerIdFromString(record.peerId), PEER_PROTOCOL, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS), runOnLimitedConnection: true })
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      const me = this.init.self()
      await lp.write(PeerHello.encode({ secret: Buffer.alloc(0), name: me.name, domain: me.domain, addrs: [], unpeer: true }).finish())
      notified = PeerWelcome.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray()).error === ''
      await stream.close().catch(() => {})
    } catch {}
    await this.requireHost().hangUp(peerIdFromString(record.peerId)).catch(() => {})
    return notified
  }

  /** Trusted peers with their connection (direct or relayed, where, since when) and, when connected, a fresh round trip. */
  async peers (): Promise<PeerInfo[]> {
    return await Promise.all([...this.trusted.values()].map(async p => await this.peerInfo(p)))
  }

  /** One trusted peer as `peers` shows it; with `measure`, a fresh round trip on its connection. */
  async peerInfo (p: PeerRecord, opts: { measure: boolean } = { measure: true }): Promise<PeerInfo> {
    const host = this.requireHost()
    const id = peerIdFromString(p.peerId)
    const known = await host.peerStore.get(id).then(peer => peer.addresses.map(a => a.multiaddr), () => [])
    const view = connectionView(host.getConnections(id), known)
    let latencyMs = -1
    if (view !== undefined && opts.measure) latencyMs = await host.services.ping.ping(id, { signal: AbortSignal.timeout(1000) }).catch(() => -1)
    return {
      name: p.name,
      domain: p.domain,
      peerId: p.peerId,
      addrs: view !== undefined ? [view.addr] : p.addrs,
      connected: view !== undefined,
      latencyMs,
      trustedAtMs: p.trustedAt,
      connection: view?.kind ?? '',
      connectedSinceMs: view?.since ?? 0
    }
  }

  /** Finds a trusted peer by `name[@domain]` or PeerId. */
  lookup (who: string): PeerRecord {
    return this.trusted.lookup(who)
  }

  /** Sends one call to a trusted peer over /aurae/rpc/1.0.0 and hands back its responses. */
  async forward (who: string, path: string, payload: Buffer, onPayload: (payload: Buffer) => Promise<void>, signal: AbortSignal): Promise<void> {
    const record = this.lookup(who)
    const stream = await this.openCall(record.peerId, who, signal)
    const onAbort = (): void => stream.abort(new Error('the caller went away'))
    signal.addEventListener('abort', onAbort)
    // The peer's own answer that the call failed, as the class it threw; anything else is a lost peer.
    let remoteFailure: AuraeError | undefined
    try {
      stream.send(frame(RpcRequest.encode({ method: path, payload, callerName: this.init.self().name, window: RPC_WINDOW }).finish()))
      // Read at the caller's pace: a slow caller (an attached run piped into something slow) slows the peer, through
      // the transport's flow control and, where that cannot (WebRTC), through the call's own window.
      const taken = new TakenCounter(RPC_WINDOW)
      let ended = false
      for await (const bytes of pacedFrames(stream, MAX_FRAME)) {
        const res = RpcResponse.decode(bytes)
        if (!res.end) {
          await onPayload(Buffer.from(res.payload))
          const grant = taken.took(bytes.byteLength)
          if (grant > 0) stream.send(frame(RpcCredit.encode({ bytes: grant }).finish()))
          continue
        }
        if (res.code !== 0) {
          remoteFailure = fromStatus(res.code, res.error)
          throw remoteFailure
        }
        ended = true
        break
      }
      if (!ended) throw new Error('the peer closed the call without an answer')
      await stream.close().catch(() => {})
    } catch (err) {
      if (err === remoteFailure) throw err
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (signal.aborted) throw new CancelledError('cancelled')
      await this.requireHost().hangUp(peerIdFromString(record.peerId)).catch(() => {})
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
    const host = this.requireHost()
    if (!host.getConnections(peer).some(c => c.status === 'open')) throw new Error('not connected')
    const signal = AbortSignal.timeout(CALL_TIMEOUT_MS)
    const connection = await host.dial(peer, { signal })
    const stream = await connection.newStream(RPC_PROTOCOL, { signal, runOnLimitedConnection: true })
    this.streamConnection.set(stream, connection)
    return stream
  }

  /** Opens a call's stream to a trusted peer (see openStream); a peer that cannot be reached is PeerUnreachableError. */
  private async openCall (peerId: string, who: string, signal: AbortSignal): Promise<Stream> {
    try {
      const stream = await this.spares.take(peerId) ?? await this.openStream(peerIdFromString(peerId), RPC_PROTOCOL, signal)
      // The next call to this peer finds its stream ready.
      this.spares.fill(peerId)
      return stream
    } catch (err) {
      if (err instanceof PeerUnreachableError) throw err
      throw new PeerUnreachableError(`${who} is unreachable: ${messageOf(err)}`)
    }
  }

  /**
   * Opens a stream on the best connection to the peer (a direct one before a relayed one), or on a new one. A
   * connection that cannot open a stream in time is dead even if libp2p has not noticed: it is dropped and the next
   * one tried, so a call falls back to the relay when a direct path dies under it.
   *
   * With `addrs` (a token's), a new connection is dialled to those, and that dial does not join one libp2p may
   * already be making to the peer (a DHT walk trying a stale LAN address, say), which would hold the peering up
   * for that dial's timeouts.
   */
  private async openStream (peer: PeerId, protocol: string, signal: AbortSignal, addrs?: Multiaddr[]): Promise<Stream> {
    const host = this.requireHost()
    let lastError: unknown
    for (let attempt = 0; attempt < 2; attempt++) {
      const open = host.getConnections(peer).filter(c => c.status === 'open')
      // With another connection to fall back to, a path that cannot open a stream in a short while is given up.
      const deadline = AbortSignal.any([signal, AbortSignal.timeout(open.length > 1 ? FALLBACK_AFTER_MS : CALL_TIMEOUT_MS)])
      let connection: Connection | undefined
      try {
        connection = open.length === 0 && addrs !== undefined
          ? await host.services.nat.dialAt(addrs, signal)
          : await host.dial(peer, { signal: deadline })
        const stream = await connection.newStream(protocol, { signal: deadline, runOnLimitedConnection: true })
        this.streamConnection.set(stream, connection)
        return stream
      } catch (err) {
        lastError = err
        if (signal.aborted) break
        if (connection === undefined) {
          if (addrs === undefined) await host.hangUp(peer).catch(() => {})
          break
        }
        connection.abort(new Error('no stream opened in time'))
      }
    }
    throw lastError
  }

  private requireHost (): Host {
    if (this.host === undefined) throw new FailedPreconditionError('the mesh is not running')
    return this.host
  }

  /** The PeerId `name@domain` is pinned to: this node's own name to its own key, a trusted peer's to the key it peered with. */
  private pinnedTo (name: string, domain: string): string | undefined {
    const me = this.init.self()
    if (me.name !== '' && name === me.name && domain === me.domain) return this.init.key.peerId
    return this.trusted.pinnedTo(name, domain)
  }

  /** The record of a pinned name when the DHT has none of its key's: what peering (or this node itself) knows. */
  private pinnedRecord (name: string, domain: string): NameRecord | undefined {
    const peerId = this.pinnedTo(name, domain)
    if (peerId === this.init.key.peerId) return { name, domain, peerId, addrs: this.addrs(), seq: Date.now() }
    const p = peerId === undefined ? undefined : this.trusted.get(peerId)
    if (p === undefined) return undefined
    const live = this.host?.getConnections(peerIdFromString(p.peerId)).map(c => c.remoteAddr.toString()) ?? []
    return { name, domain, peerId: p.peerId, addrs: live.length > 0 ? live : p.addrs, seq: p.trustedAt }
  }

  private async trust (record: PeerRecord): Promise<void> {
    await this.trusted.add(record)
    await this.remember(record)
    this.host?.services.nat.check(peerIdFromString(record.peerId))
    this.host?.services.reachability.check(record.peerId, true)
    // Who peers is about to call: the first call finds its stream open.
    this.spares.fill(record.peerId)
    this.init.log('info', 'peer trusted', { name: record.name, peerId: record.peerId })
  }

  private async forget (peerId: string): Promise<void> {
    const record = await this.trusted.remove(peerId)
    this.spares.drop(peerId)
    const id = peerIdFromString(peerId)
    this.host?.services.relay.reservations.delete(id)
    await this.host?.peerStore.merge(id, { tags: { [KEEP_ALIVE]: undefined } }).catch(() => {})
    if (record !== undefined) this.init.log('info', 'peer no longer trusted', { name: record.name, peerId })
  }

  /** Keeps a trusted peer's addresses and asks libp2p to keep (and restore) a connection to it. */
  private async remember (record: PeerRecord): Promise<void> {
    await this.host?.peerStore.merge(peerIdFromString(record.peerId), { multiaddrs: parseAddrs(record.addrs), tags: { [KEEP_ALIVE]: { value: 1 } } })
  }

  /**
   * A node that listens through a relay (`--listen /p2p-circuit`) and has no slot yet asks a newly trusted relay for one.
   * Relays serve only peers they trust, so the request libp2p made when the two first met was refused; libp2p asks
   * a relay again on a new connection to it.
   */
  private askForSlot (peerId: string): void {
    const host = this.host
    if (host === undefined || !this.init.listen.some(a => a.endsWith('/p2p-circuit')) || this.addrs().some(a => a.includes('/p2p-circuit'))) return
    const id = peerIdFromString(peerId)
    void (async () => {
      if (!(await host.peerStore.get(id)).protocols.includes(RELAY_V2_HOP_CODEC)) return
      await host.hangUp(id)
      await host.dial(id, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })
    })().catch(err => this.init.log('warn', 'could not ask a trusted peer for a relay slot', { peerId, err: messageOf(err) }))
  }

  /** The issuer's side of peering (and of unpeering). */
  private async onPeer (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
    const remote = connection.remotePeer.toString()
    const me = this.init.self()
    try {
      const hello = PeerHello.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray())
      let error = ''
      if (hello.unpeer) {
        if (this.trusted.has(remote)) await this.forget(remote)
      } else {
        error = await this.admit(remote, hello)
      }
      await lp.write(PeerWelcome.encode({ error, name: me.name, domain: me.domain }).finish())
      await stream.close()
      if (!hello.unpeer && error === '') this.askForSlot(remote)
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** Admits redeemers one at a time, so that no two can spend the same use of a token. Returns the refusal, if any. */
  private async admit (remote: string, hello: PeerHello): Promise<string> {
    const turn = this.admitting.then(async () => await this.admitOne(remote, hello))
    this.admitting = turn.catch(() => {})
    return await turn
  }

  /** Checks a redeemer's secret against the tokens issued here and its name against the name rules; trusts it if both pass. */
  private async admitOne (remote: string, hello: PeerHello): Promise<string> {
    const me = this.init.self()
    const id = tokenId(hello.secret)
    const token = await this.init.tokens.get(id)
    if (token === undefined) return `${me.name} did not issue this token`
    if (token.expiresAt <= Date.now()) return 'this peering token has expired'
    if (token.usesLeft <= 0) return 'this peering token has already been used'
    const problem = this.trusted.nameProblem(hello.name, hello.domain, remote, me)
    if (problem !== undefined) return redeemerNameRefusal(problem, hello.name, hello.domain, me.name)
    await this.init.tokens.put(id, { ...token, usesLeft: token.usesLeft - 1 })
    try {
      await this.trust({ peerId: remote, name: hello.name, domain: hello.domain, addrs: usableAddrs(hello.addrs), trustedAt: Date.now() })
    } catch (err) {
      return messageOf(err)
    }
    return ''
  }

  /** The callee's side of a remote call: one request frame in, response frames out, then the end. */
  private async onRpc (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    const remote = connection.remotePeer.toString()
    const ac = new AbortController()
    stream.addEventListener('close', () => ac.abort())
    let window: SendWindow | undefined
    const respond = async (res: Partial<RpcResponse>): Promise<void> => {
      const bytes = RpcResponse.encode({ payload: Buffer.alloc(0), code: 0, error: '', end: false, ...res }).finish()
      if (res.end !== true) await window?.take(bytes.byteLength, ac.signal)
      await lp.write(bytes)
    }
    try {
      let req: RpcRequest
      try {
        // A trusted peer may open its stream ahead of the call (spare-streams.ts); anyone else must ask at once.
        const wait = this.trusted.has(remote) ? SPARE_IDLE_MS : CALL_TIMEOUT_MS
        req = RpcRequest.decode((await lp.read({ signal: AbortSignal.timeout(wait) })).subarray())
      } catch (err) {
        throw new InvalidArgumentError(`malformed or oversized request frame: ${messageOf(err)}`)
      }
      if (req.window > 0) {
        const w = window = new SendWindow(req.window)
        void (async () => {
          for (;;) w.grant(Number(RpcCredit.decode((await lp.read({ signal: ac.signal })).subarray()).bytes))
        })().catch(() => w.close())
      }
      const caller: PeerCaller = { kind: 'peer', peerId: remote, name: this.nameOf(remote) || req.callerName }
      await this.init.dispatch(req.method, Buffer.from(req.payload), caller, async payload => await respond({ payload }), ac.signal)
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

/** The way a connection goes: on its own (direct, WebRTC included), or through a relay (named by its address). */
function pathOf (c: Connection): string {
  return isDirectConnection(c) ? c.id : relayOf(c.remoteAddr) ?? c.id
}

function tokenId (secret: Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex')
}

function withPeer (addr: Multiaddr, peerId: string): Multiaddr {
  return addr.toString().includes('/p2p/') ? addr : multiaddr(`${addr.toString()}/p2p/${peerId}`)
}

function parseAddrs (addrs: string[]): Multiaddr[] {
  return addrs.flatMap(a => { try { return [multiaddr(a)] } catch { return [] } })
}

/** The addresses a peer sent that are printable multiaddrs, at most 32 of them. */
function usableAddrs (addrs: string[]): string[] {
  return parseAddrs(addrs.filter(isAddrText)).slice(0, 32).map(a => a.toString())
}
