// NAT traversal as a libp2p service: a STUN server on the mesh port, the STUN servers ICE may ask (trusted
// peers only), and direct paths: a trusted peer reached only through a relay is upgraded to a direct
// connection (TCP when one side is dialable, else WebRTC, whose ICE punches through both NATs), retried with
// backoff and again whenever this node's addresses change. The relayed connection stays open beside the direct
// one: calls already on it finish there, new calls take the direct one (libp2p prefers it), and if the direct
// path dies the relayed one is still there to fall back to.
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { Connection, Libp2pEvents, PeerId, PeerStore, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, TransportManager } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { PING_PROTOCOL } from '@libp2p/ping'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { messageOf } from '../errors.ts'
import { ipAndTcpPort, isDirectConnection, relayOf } from './addresses.ts'
import { isLoopbackIp } from './public-ip.ts'
import { StunServer, stunAddresses } from './stun.ts'
import type { TrustView } from './trusted.ts'

/** Waits between attempts to go direct, then the last one over and over. */
const BACKOFF_MS = [0, 2_000, 5_000, 15_000, 30_000, 60_000, 120_000]
const DIAL_TIMEOUT_MS = 10_000
/** How long ICE, DTLS and SCTP may take to open a WebRTC connection (about 25 round trips). */
const WEBRTC_TIMEOUT_MS = 15_000
/** How long a new WebRTC connection may take to open its first stream before it is taken for dead. */
const PROOF_MS = 5_000
/** ICE asks at most this many STUN servers. */
const MAX_STUN_SERVERS = 3
/** Relay slots a node behind a NAT keeps, on as many trusted public peers: one relay going away leaves another. */
const RELAY_SLOTS = 2
/** How often dial-back answers are looked at, to take relay slots once they say no one outside can dial us. */
const RESERVE_CHECK_MS = 1_000
/**
 * How often a node that listens through relays, and holds fewer slots than it listens for, asks the trusted relays
 * it reaches directly for one. libp2p asks a relay once, when it first meets it; a relay that refused then (it did not
 * trust this node yet, or had just restarted), or a first meeting over another relay, would otherwise leave the slot
 * untaken for as long as the connection lasts.
 */
const TOP_UP_MS = 10_000

export interface NatTraversalInit {
  /** The peers trusted through a peering token; one just trusted over a relayed connection is tried at once. */
  trusted: TrustView
  /** Whether peers outside this node's networks can dial it; undefined until one of them answered a dial-back. */
  dialable: () => boolean | undefined
  /** The addresses the node was told to listen on (relay slots it was told to take count toward RELAY_SLOTS). */
  listen: string[]
  log: (level: 'info' | 'warn', msg: string, fields?: object) => void
}

/** What this module uses of the circuit relay transport's reservation store (a public field of the transport). */
interface RelaySlots {
  reservationCount: (type: 'discovered' | 'configured') => number
  hasReservation: (peer: PeerId) => boolean
  addRelay: (peer: PeerId, type: 'discovered') => Promise<unknown>
}

interface NatComponents {
  peerId: PeerId
  connectionManager: ConnectionManager
  transportManager: TransportManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
}

/**
 * Attempts to go direct to one peer. `lead`: this side starts ICE whatever the PeerIds say, after its own network
 * changed (the other side, which would start it otherwise, knows nothing of the change).
 */
interface Attempt { tries: number, timer?: NodeJS.Timeout, running: boolean, lead: boolean }

export class NatTraversal implements Startable {
  private readonly stun = new StunServer()
  private readonly attempts = new Map<string, Attempt>()
  private started = false
  private stunStarting = false
  private reserving?: NodeJS.Timeout
  private slotsTaken = false
  /** The `/p2p-circuit` listeners (configured or taken behind a NAT): each holds a slot once libp2p found a relay for it. */
  private wanted: number
  private topping?: NodeJS.Timeout
  private unwatch?: () => void

  constructor (private readonly components: NatComponents, private readonly init: NatTraversalInit) {
    this.wanted = init.listen.filter(a => a === '/p2p-circuit').length
  }

  async start (): Promise<void> {
    this.started = true
    // Transports listen while the services start; the STUN server follows TCP's addresses once they are known.
    this.components.events.addEventListener('transport:listening', this.onListening)
    this.unwatch = this.init.trusted.watch(change => {
      if (!change.trusted) return
      this.check(peerIdFromString(change.peer.peerId))
      this.topUpSlots()
    })
  }

  async afterStart (): Promise<void> {
    this.reserving = setInterval(() => this.takeRelaySlots(), RESERVE_CHECK_MS).unref()
    this.topping = setInterval(() => this.topUpSlots(), TOP_UP_MS).unref()
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
    this.components.events.addEventListener('self:peer:update', this.onAddressChange)
  }

  async stop (): Promise<void> {
    this.started = false
    this.unwatch?.()
    this.components.events.removeEventListener('transport:listening', this.onListening)
    clearInterval(this.reserving)
    clearInterval(this.topping)
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
    this.components.events.removeEventListener('self:peer:update', this.onAddressChange)
    for (const a of this.attempts.values()) clearTimeout(a.timer)
    this.attempts.clear()
    this.stun.stop()
  }

  /** The STUN servers ICE asks for this node's mapped address: trusted peers it reached directly, on their mesh port. */
  stunServers (): string[] {
    const servers = new Set<string>()
    for (const conn of this.components.connectionManager.getConnections()) {
      if (!isDirectConnection(conn) || conn.direction !== 'outbound' || !this.init.trusted.has(conn.remotePeer.toString())) continue
      const host = ipAndTcpPort(conn.remoteAddr)
      if (host !== undefined) servers.add(host.ip.includes(':') ? `stun:[${host.ip}]:${host.port}` : `stun:${host.ip}:${host.port}`)
    }
    return [...servers].slice(0, MAX_STUN_SERVERS)
  }

  /** Whether the peer is reached over a direct connection now. */
  isDirect (peer: PeerId): boolean {
    return this.components.connectionManager.getConnections(peer).some(c => isDirectConnection(c) && c.status === 'open')
  }

  /**
   * This node's own addresses changed: a path that failed may work now, and ICE has new candidates to offer. Every
   * trusted peer reached only through a relay is tried again at once, from scratch, with this side starting ICE.
   */
  networkChanged (): void {
    const peers = new Map<string, PeerId>()
    for (const c of this.components.connectionManager.getConnections()) {
      const key = c.remotePeer.toString()
      if (this.init.trusted.has(key) && !this.isDirect(c.remotePeer)) peers.set(key, c.remotePeer)
    }
    if (peers.size === 0) return
    this.init.log('info', 'the network changed: looking for direct paths again', { peers: peers.size })
    for (const peer of peers.values()) this.schedule(peer, true, true)
  }

  /** Looks for a direct path to a peer now, for one that has just been trusted over a relayed connection. */
  private check (peer: PeerId): void {
    if (this.components.connectionManager.getConnections(peer).some(c => !isDirectConnection(c))) this.schedule(peer, true)
  }

  /**
   * Once trusted peers outside its networks say this node cannot be dialled, it listens through relays: RELAY_SLOTS
   * reservations, which libp2p takes on connected peers that relay (ours relay only for peers they trust, and only
   * while others can dial them) and takes again elsewhere when a relay goes away.
   */
  private takeRelaySlots (): void {
    if (this.slotsTaken || this.init.dialable() !== false) return
    this.slotsTaken = true
    clearInterval(this.reserving)
    const configured = this.init.listen.filter(a => a.endsWith('/p2p-circuit')).length
    const more = Math.max(0, RELAY_SLOTS - configured)
    if (more === 0) return
    this.init.log('info', 'behind a NAT: listening through relays', { slots: RELAY_SLOTS })
    this.wanted += more
    this.components.transportManager.listen(Array.from({ length: more }, () => multiaddr('/p2p-circuit')))
      .catch(err => this.init.log('warn', 'could not listen through relays', { err: String(err?.message ?? err) }))
  }

  /** While this node holds fewer relay slots than it listens for, asks every trusted relay it reaches directly. */
  private topUpSlots (): void {
    const slots = this.relaySlots()
    if (slots === undefined || slots.reservationCount('discovered') >= this.wanted) return
    const asked = new Set<string>()
    for (const conn of this.components.connectionManager.getConnections()) {
      const peer = conn.remotePeer
      const key = peer.toString()
      if (asked.has(key) || !isDirectConnection(conn) || conn.status !== 'open' || !this.init.trusted.has(key) || slots.hasReservation(peer)) continue
      asked.add(key)
      void this.components.peerStore.get(peer)
        .then(async p => { if (p.protocols.includes(RELAY_V2_HOP_CODEC)) await slots.addRelay(peer, 'discovered') })
        // A relay that refuses now (it is behind a NAT itself, or not ready) is asked again next time.
        .catch(() => {})
    }
  }

  /** The slots libp2p's circuit relay transport holds for this node. */
  private relaySlots (): RelaySlots | undefined {
    const transport = this.components.transportManager.getTransports().find(t => t[Symbol.toStringTag] === '@libp2p/circuit-relay-v2-transport')
    return (transport as { reservationStore?: RelaySlots } | undefined)?.reservationStore
  }

  private readonly onListening = (): void => {
    if (this.stunStarting) return
    const listening = this.components.transportManager.getAddrs().flatMap(a => ipAndTcpPort(a) ?? [])
    if (listening.length === 0) return
    this.stunStarting = true
    const addresses = stunAddresses(this.init.listen, listening)
    this.stun.start(addresses).catch(err => this.init.log('warn', 'no STUN server on the mesh port', { addresses, err: String(err?.message ?? err) }))
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    if (conn.remoteAddr.toString().includes('/webrtc')) {
      // WebRTC is how trusted peers go direct. One from a peer no longer trusted is a punch that was under way
      // when trust was withdrawn (its signalling cut by the hang-up), not a path anyone wants.
      if (!this.init.trusted.has(conn.remotePeer.toString())) {
        conn.abort(new Error('WebRTC is for trusted peers'))
        return
      }
      void this.prove(conn)
    }
    if (!isDirectConnection(conn) && this.init.trusted.has(conn.remotePeer.toString())) this.schedule(conn.remotePeer, true)
  }

  /**
   * A WebRTC connection must carry a stream round trip soon after it opens. libp2p's answering side announces
   * the connection when signalling ends, even when signalling ended because the relayed connection under it
   * closed before ICE connected; such a connection opens no stream ever, and would otherwise count as the direct
   * path until libp2p's pings gave up on it.
   */
  private async prove (conn: Connection): Promise<void> {
    try {
      // Every node answers libp2p's ping.
      const stream = await conn.newStream(PING_PROTOCOL, { signal: AbortSignal.timeout(PROOF_MS), runOnLimitedConnection: true })
      await stream.close().catch(() => stream.abort(new Error('proved')))
    } catch (err) {
      if (conn.status !== 'open') return
      this.init.log('info', 'dropping a WebRTC connection that carries nothing', { peerId: conn.remotePeer.toString(), err: messageOf(err) })
      conn.abort(new Error('the WebRTC connection carried no stream'))
    }
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    // A direct path that died: the relay carries the peer again (libp2p redials a kept-alive peer), and we try anew.
    if (isDirectConnection(conn) && this.init.trusted.has(conn.remotePeer.toString())) this.schedule(conn.remotePeer, true)
  }

  private readonly onAddressChange = (): void => {
    for (const conn of this.components.connectionManager.getConnections()) {
      if (!isDirectConnection(conn) && this.init.trusted.has(conn.remotePeer.toString())) this.schedule(conn.remotePeer, true)
    }
  }

  private schedule (peer: PeerId, fresh: boolean, lead = false): void {
    if (!this.started) return
    const key = peer.toString()
    let attempt = this.attempts.get(key)
    if (attempt === undefined) {
      attempt = { tries: 0, running: false, lead: false }
      this.attempts.set(key, attempt)
    }
    if (fresh) attempt.tries = 0
    if (lead) attempt.lead = true
    if (attempt.running) return
    clearTimeout(attempt.timer)
    const wait = BACKOFF_MS[Math.min(attempt.tries, BACKOFF_MS.length - 1)]
    const a = attempt
    a.timer = setTimeout(() => { void this.attempt(peer, a) }, wait).unref()
  }

  private async attempt (peer: PeerId, attempt: Attempt): Promise<void> {
    const key = peer.toString()
    if (!this.started || !this.init.trusted.has(key) || this.isDirect(peer)) {
      this.attempts.delete(key)
      return
    }
    const relayed = this.components.connectionManager.getConnections(peer).find(c => !isDirectConnection(c) && c.status === 'open')
    // Not connected at all: libp2p redials a kept-alive peer, and the new connection brings us back here.
    if (relayed === undefined) {
      this.attempts.delete(key)
      return
    }
    attempt.running = true
    // This attempt's own number and role: a network change may start the count again while it runs.
    const tries = ++attempt.tries
    const lead = attempt.lead
    try {
      const started = Date.now()
      const outcome = await this.goDirect(peer, relayed, lead)
      if (typeof outcome !== 'string') {
        this.init.log('info', 'direct connection to a peer', { peerId: key, addr: outcome.remoteAddr.toString(), tries, lead, ms: Date.now() - started })
        this.attempts.delete(key)
        return
      }
      this.init.log('info', 'no direct path to a peer yet', { peerId: key, tries, lead, err: outcome })
    } finally {
      attempt.running = false
    }
    if (this.attempts.get(key) === attempt) this.schedule(peer, false)
  }

  /**
   * One attempt, two ways at once: the peer's own direct addresses (it may be dialable, and we can always dial
   * out), and WebRTC through the relay the two already share. Only the side with the smaller PeerId starts ICE,
   * so the two do not race each other into two connections, unless this side leads after its network changed.
   * Resolves to the direct connection, or to why there is none.
   */
  private async goDirect (peer: PeerId, relayed: Connection, lead: boolean): Promise<Connection | string> {
    const cm = this.components.connectionManager
    const ways: Array<Promise<Connection>> = []
    const direct = (await this.peerAddrs(peer)).filter(a => !a.toString().includes('/p2p-circuit'))
    if (direct.length > 0) ways.push(cm.openConnection(direct, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }))
    const viaRelay = webrtcAddr(relayed.remoteAddr, peer)
    if (viaRelay !== undefined && (lead || this.components.peerId.toString() < peer.toString())) {
      // Straight to the transport: the dial queue gives each address a few seconds, less than ICE and DTLS take
      // over a slow path. The connection is the node's like any other (the upgrader announces it).
      ways.push(this.components.transportManager.dial(viaRelay, { signal: AbortSignal.timeout(WEBRTC_TIMEOUT_MS) }))
    }
    const conn = await Promise.any(ways.map(async way => {
      const c = await way
      if (!isDirectConnection(c)) throw new Error('still relayed')
      return c
    })).catch((err: AggregateError) => ways.length === 0 ? 'no address to try' : err.errors.map(messageOf).join('; '))
    return conn
  }

  private async peerAddrs (peer: PeerId): Promise<Multiaddr[]> {
    const found = await this.components.peerStore.get(peer).catch(() => undefined)
    return (found?.addresses ?? []).map(a => a.multiaddr)
      .filter(a => { const host = ipAndTcpPort(a); return host !== undefined && !isLoopbackIp(host.ip) })
      .map(a => a.encapsulate(`/p2p/${peer.toString()}`))
  }
}

/** The service factory for `createLibp2p({ services })`. */
export function natTraversal (init: NatTraversalInit): (components: NatComponents) => NatTraversal {
  return components => new NatTraversal(components, init)
}

/** `<relay>/p2p-circuit/webrtc/p2p/<peer>` from a relayed connection's remote address. */
function webrtcAddr (relayedAddr: Multiaddr, peer: PeerId): Multiaddr | undefined {
  const relay = relayOf(relayedAddr)
  return relay === undefined ? undefined : multiaddr(`${relay}/p2p-circuit/webrtc/p2p/${peer.toString()}`)
}
