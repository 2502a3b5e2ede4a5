// The reachability service: learns from trusted peers whether this node can be dialled, and answers their questions.
//
// A node asks each trusted peer it is directly connected to (dialback.ts) when that peer connects or is peered with,
// when its own addresses change, and every RECHECK_MS; the answers feed the AddressBook, which decides what is
// announced and what `status` says. It serves the same request for its trusted peers.
import { serviceCapabilities, type ComponentLogger, type Connection, type IdentifyResult, type Libp2pEvents, type Logger, type PeerId, type PeerStore, type Startable, type Stream, type TypedEventTarget } from '@libp2p/interface'
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { DialbackOutcome } from '../gen/aurae/mesh/v0/dialback.ts'
import type { AddressBook, Reachability } from './address-book.ts'
import { addrKey, ipOf, isDirectConnection } from './addresses.ts'
import { onNetwork } from './dial-order.ts'
import { DIALBACK_PROTOCOL, askDialback, serveDialback } from './dialback.ts'
import type { TrustView } from './trusted.ts'

/** How often trusted peers are asked again while connected. */
const RECHECK_MS = 3 * 60_000
/** How often this node looks whether its own interface addresses changed (libp2p says nothing of that). */
const WATCH_MS = 10_000
/** No peer is asked twice within this, whatever changed. */
const MIN_GAP_MS = 5_000
/** Requests served at once; more are turned away. */
const MAX_SERVING = 4
/** A peer that did not answer (it had not trusted us yet, or the connection went) is asked again after this, doubling. */
const RETRY_MS = 1_000

/** The parts of libp2p the service uses. */
export interface ReachabilityComponents {
  peerId: PeerId
  logger: ComponentLogger
  peerStore: Pick<PeerStore, 'patch'>
  events: TypedEventTarget<Libp2pEvents>
  registrar: {
    handle: (protocol: string, handler: (stream: Stream, connection: Connection) => void | Promise<void>, options?: { maxInboundStreams?: number, maxOutboundStreams?: number }) => Promise<void>
    unhandle: (protocol: string) => Promise<void>
  }
  connectionManager: {
    openConnection: (addr: Multiaddr, options: { force?: boolean, signal?: AbortSignal }) => Promise<Connection>
    getConnections: (peerId?: PeerId) => Connection[]
  }
  addressManager: {
    getAddresses: () => Multiaddr[]
    getAddressesWithMetadata: () => Array<{ multiaddr: Multiaddr, verified: boolean, type: string }>
    confirmObservedAddr: (addr: Multiaddr, options?: { type?: 'transport' | 'observed' }) => void
    removeObservedAddr: (addr: Multiaddr) => void
  }
}

export interface ReachabilityInit {
  book: AddressBook
  /** The peers trusted through a peering token; one just trusted is asked at once. */
  trusted: TrustView
  /** Called when this node's own addresses changed (an interface came, went or was renumbered). */
  onNetworkChange?: () => void
}

export interface ReachabilityStatus {
  reachability: Reachability
  /** Where trusted peers saw this node's connections come from. */
  observed: string[]
  /** When a trusted peer last answered a dial-back request; 0 before any did. */
  checkedAt: number
}

/** The service factory, for createLibp2p's `services`. */
export function reachability (init: ReachabilityInit): (components: ReachabilityComponents) => ReachabilityService {
  return components => new ReachabilityService(components, init)
}

export class ReachabilityService implements Startable {
  private readonly log: Logger
  private readonly asked = new Map<string, { at: number, key: string }>()
  private readonly asking = new Set<string>()
  private readonly retries = new Map<string, { timer: NodeJS.Timeout, failures: number }>()
  /** Peers whose question changed while one was under way or too recent: asked once that allows. */
  private readonly deferred = new Map<string, NodeJS.Timeout | undefined>()
  /** NAT addresses trusted peers reached us at, handed to libp2p as confirmed observed addresses. */
  private readonly mapped = new Set<string>()
  private serving = 0
  private ownKey?: string
  private timers: NodeJS.Timeout[] = []
  private stopping = new AbortController()
  private unwatch?: () => void

  constructor (private readonly components: ReachabilityComponents, private readonly init: ReachabilityInit) {
    this.log = components.logger.forComponent('aurae:reachability')
  }

  readonly [Symbol.toStringTag] = 'aurae/reachability'
  readonly [serviceCapabilities] = ['@aurae/reachability']

  async start (): Promise<void> {
    this.stopping = new AbortController()
    this.unwatch = this.init.trusted.watch(change => { if (change.trusted) this.check(change.peer.peerId, true) })
    await this.components.registrar.handle(DIALBACK_PROTOCOL, async (stream, connection) => await this.serve(stream, connection), { maxInboundStreams: 2, maxOutboundStreams: 2 })
  }

  afterStart (): void {
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
    this.timers = [setInterval(() => this.askAll(true), RECHECK_MS).unref(), setInterval(this.onSelfUpdate, WATCH_MS).unref()]
    this.onSelfUpdate()
  }

  async stop (): Promise<void> {
    this.stopping.abort()
    this.unwatch?.()
    for (const t of this.timers) clearInterval(t)
    for (const r of this.retries.values()) clearTimeout(r.timer)
    for (const t of this.deferred.values()) clearTimeout(t)
    this.retries.clear()
    this.deferred.clear()
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
    await this.components.registrar.unhandle(DIALBACK_PROTOCOL)
  }

  status (): ReachabilityStatus {
    const book = this.init.book
    return { reachability: book.reachability(this.components.addressManager.getAddresses(), this.listenAddrs()), observed: book.observedAddrs(), checkedAt: book.checkedAt() }
  }

  /**
   * Asks a trusted peer, over a direct connection to it, to dial our addresses back. Never while one is under way; and
   * unless forced (on peering, on a retry, every RECHECK_MS), not when nothing changed since the last time, and not
   * within MIN_GAP_MS of it (it is then asked once that is over).
   */
  check (peerId: string, force = false): void {
    if (!this.init.trusted.has(peerId)) return
    if (this.asking.has(peerId)) {
      if (!this.deferred.has(peerId)) this.deferred.set(peerId, undefined)
      return
    }
    // Over a connection at an IP: the peer dials back only the IP it sees the request come from.
    const connection = this.components.connectionManager.getConnections().find(c => c.remotePeer.toString() === peerId && isDirectConnection(c) && ipOf(c.remoteAddr) !== undefined && c.status === 'open')
    if (connection === undefined) return
    const addrs = this.init.book.candidates(this.listenAddrs(), peerId)
    if (addrs.length === 0) return
    const key = addrs.join(' ')
    const last = this.asked.get(peerId)
    const now = Date.now()
    if (!force && last !== undefined && last.key === key && now - last.at < RECHECK_MS) return
    if (!force && last !== undefined && now - last.at < MIN_GAP_MS) {
      if (!this.deferred.has(peerId)) this.deferred.set(peerId, setTimeout(() => this.askDeferred(peerId), last.at + MIN_GAP_MS - now).unref())
      return
    }
    this.asked.set(peerId, { at: now, key })
    this.asking.add(peerId)
    askDialback(connection, addrs, this.stopping.signal).then(results => {
      this.retryLater(peerId, false)
      const asked = new Set(addrs)
      const answered = results.filter(r => asked.has(r.addr) && r.outcome !== DialbackOutcome.DIALBACK_OUTCOME_REFUSED)
      const peerIp = ipOf(connection.remoteAddr)
      const outside = peerIp === undefined || !onNetwork(peerIp)
      this.init.book.record(peerId, answered.map(r => ({ addr: r.addr, reached: r.outcome === DialbackOutcome.DIALBACK_OUTCOME_REACHED })), outside)
      this.log('%s dialled back %o', peerId, answered)
      this.sync()
    }).catch(err => {
      this.log('%s did not answer a dial-back request: %e', peerId, err)
      this.retryLater(peerId, !this.stopping.signal.aborted)
    }).finally(() => {
      this.asking.delete(peerId)
      if (this.deferred.get(peerId) === undefined && this.deferred.has(peerId)) this.askDeferred(peerId)
    })
  }

  private askDeferred (peerId: string): void {
    this.deferred.delete(peerId)
    if (!this.stopping.signal.aborted) this.check(peerId)
  }

  /** After a failure, asks the peer again later (RETRY_MS, doubling up to RECHECK_MS); after an answer, stops that. */
  private retryLater (peerId: string, failed: boolean): void {
    const last = this.retries.get(peerId)
    clearTimeout(last?.timer)
    this.retries.delete(peerId)
    if (!failed || !this.init.trusted.has(peerId)) return
    const failures = (last?.failures ?? 0) + 1
    const timer = setTimeout(() => this.check(peerId, true), Math.min(RETRY_MS * 2 ** (failures - 1), RECHECK_MS)).unref()
    this.retries.set(peerId, { timer, failures })
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, observedAddr, connection } = evt.detail
    if (!isDirectConnection(connection) || ipOf(connection.remoteAddr) === undefined) return
    if (observedAddr !== undefined) this.init.book.observe(peerId.toString(), observedAddr)
    this.check(peerId.toString())
  }

  /** Our own addresses may have changed: keep libp2p's record in step, and ask again if what we would ask changed. */
  private readonly onSelfUpdate = (): void => {
    const key = this.init.book.candidates(this.listenAddrs(), '').join(' ')
    if (key === this.ownKey) return
    const first = this.ownKey === undefined
    this.ownKey = key
    this.sync()
    this.askAll(false)
    if (!first) this.init.onNetworkChange?.()
  }

  private askAll (force: boolean): void {
    for (const peer of new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))) this.check(peer, force)
    for (const peer of this.asked.keys()) if (!this.init.trusted.has(peer)) this.asked.delete(peer)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    if (this.serving >= MAX_SERVING) {
      stream.abort(new Error('busy'))
      return
    }
    this.serving++
    const cm = this.components.connectionManager
    try {
      await serveDialback(stream, connection, {
        trusts: peerId => this.init.trusted.has(peerId),
        dial: async (addr, signal) => await cm.openConnection(addr, { force: true, signal }),
        connections: () => cm.getConnections()
      })
    } finally {
      this.serving--
    }
  }

  /** The listen addresses the transports report (wildcards expanded to each interface's address). */
  private listenAddrs (): Multiaddr[] {
    return this.components.addressManager.getAddressesWithMetadata().filter(a => a.type === 'transport').map(a => a.multiaddr)
  }

  /**
   * Hands libp2p what the book decided: libp2p announces only addresses it counts as verified, and holds back public
   * listen addresses until something confirms them; those are plausible here until refuted (see addresses.ts).
   */
  private sync (): void {
    const am = this.components.addressManager
    for (const a of am.getAddressesWithMetadata()) {
      if (a.type === 'transport' && !a.verified && this.init.book.verdict(addrKey(a.multiaddr)) !== 'refuted') am.confirmObservedAddr(a.multiaddr, { type: 'transport' })
    }
    const elsewhere = new Set(this.init.book.confirmedElsewhere())
    for (const k of elsewhere) {
      if (!this.mapped.has(k)) am.confirmObservedAddr(multiaddr(k), { type: 'observed' })
    }
    for (const k of this.mapped) {
      if (!elsewhere.has(k)) am.removeObservedAddr(multiaddr(k))
    }
    this.mapped.clear()
    for (const k of elsewhere) this.mapped.add(k)
    // libp2p refreshes our own record only when a verification flag flips; a verdict can change what is announced
    // without that, so refresh it here (the peer store says `self:peer:update` only when it changed).
    const own = am.getAddresses().map(a => a.decapsulateCode(CODE_P2P))
    this.components.peerStore.patch(this.components.peerId, { multiaddrs: own }).catch(err => this.log.error('could not update our own addresses: %e', err))
  }
}
