// Peering as a libp2p service (/aurae/peer/1.0.0): tokens this node issues, redeeming another node's, and the
// trust both sides then record; unpeering; and keeping trusted peers connected (and relaying for us when we need it).
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { KEEP_ALIVE, serviceCapabilities, serviceDependencies, type Connection, type PeerStore, type Startable, type Stream } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar, TransportManager } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createHash } from 'node:crypto'
import { FailedPreconditionError, InvalidArgumentError, PeerUnreachableError, messageOf } from '../errors.ts'
import { PeerHello, PeerWelcome } from '../gen/aurae/mesh/v0/mesh.ts'
import { formatNodeName } from '../names/parse.ts'
import type { Table } from '../store/store.ts'
import { parseAddrs, reachableAt } from './addresses.ts'
import type { NodeKey } from './keys.ts'
import { isAddrText } from './names.ts'
import { CALL_TIMEOUT_MS, dial, dialAt, openStream, type Connections } from './open-stream.ts'
import type { ReachabilityService } from './reachability.ts'
import { issueToken, readToken, type TokenRecord } from './token.ts'
import { issuerNameRefusal, redeemerNameRefusal, type PeerRecord, type TrustedPeers } from './trusted.ts'

export const PEER_PROTOCOL = '/aurae/peer/1.0.0'
/**
 * How long redeeming a token may take to reach its issuer: the token's addresses are dialled the likely ones first,
 * the next one joining in when one fails or is slow (open-stream.ts's dialAt).
 */
const PEERING_DIAL_MS = 15_000
/** How often trusted peers that are not connected are dialled again, once libp2p's own redials gave up. */
const REDIAL_MS = 15_000
/** A peer's own text in a message (a refusal) is cut to this length. */
const MAX_QUOTED = 300
const MAX_MESSAGE = 64 * 1024

export interface PeeringInit {
  key: NodeKey
  /** The addresses the node was told to listen on: `/p2p-circuit` among them asks trusted relays for a slot. */
  listen: string[]
  trusted: TrustedPeers
  /** The tokens this node issued, by the hash of their secret. */
  tokens: Table<TokenRecord>
  self: () => { name: string, domain: string }
  log: (level: 'info' | 'warn', msg: string, fields?: object) => void
}

export interface PeeringComponents {
  registrar: Pick<Registrar, 'handle' | 'unhandle'>
  connectionManager: Connections & Pick<ConnectionManager, 'openStream'>
  transportManager: Pick<TransportManager, 'dial'>
  addressManager: Pick<AddressManager, 'getAddresses'>
  peerStore: Pick<PeerStore, 'get' | 'merge'>
  relay: Pick<CircuitRelayService, 'reservations'>
  reachability: Pick<ReachabilityService, 'status'>
}

export class PeeringService implements Startable {
  readonly [Symbol.toStringTag] = 'aurae/peering'
  readonly [serviceCapabilities] = ['@aurae/peering']
  readonly [serviceDependencies] = ['@aurae/reachability']
  private redialling?: NodeJS.Timeout
  /** The admission running now; each waits for the one before, so a token's uses are spent one at a time. */
  private admitting: Promise<unknown> = Promise.resolve()

  constructor (private readonly components: PeeringComponents, private readonly init: PeeringInit) {}

  async start (): Promise<void> {
    await this.components.registrar.handle(PEER_PROTOCOL, async (stream, connection) => await this.onPeer(stream, connection), { runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    clearInterval(this.redialling)
    await this.components.registrar.unhandle(PEER_PROTOCOL)
  }

  /**
   * Dials every trusted peer, and keeps doing so: libp2p redials a kept-alive peer it lost a few times over half a
   * minute, then gives up; a relay that was down longer would never be reached again.
   */
  async connectTrusted (): Promise<void> {
    const cm = this.components.connectionManager
    for (const p of this.init.trusted.values()) {
      await this.remember(p)
      dial(cm, peerIdFromString(p.peerId), AbortSignal.timeout(CALL_TIMEOUT_MS)).catch(err => this.init.log('warn', 'could not dial', { what: p.name, err: messageOf(err) }))
    }
    this.redialling = setInterval(() => {
      for (const p of this.init.trusted.values()) {
        const id = peerIdFromString(p.peerId)
        if (cm.getConnections(id).length === 0) dial(cm, id, AbortSignal.timeout(CALL_TIMEOUT_MS)).catch(() => {})
      }
    }, REDIAL_MS).unref()
  }

  /**
   * Issues a token for this node; only the hash of its secret is kept. The warning says when the token's addresses
   * are known to work only from this node's own network: trusted peers found it cannot be dialled from outside, and
   * it holds no relay slot (yet) to be reached through.
   */
  async token (ttlSeconds: number, uses: number): Promise<{ token: string, expiresAt: number, warning: string }> {
    const addrs = reachableAt(this.components.addressManager.getAddresses())
    if (addrs.length === 0) throw new FailedPreconditionError('the mesh has no addresses to put in a token')
    const expiresAt = Date.now() + ttlSeconds * 1000
    const { token, claims } = issueToken(this.init.key, { ...this.init.self(), addrs, expiresAtMs: expiresAt })
    await this.init.tokens.put(tokenId(claims.secret), { id: tokenId(claims.secret), usesLeft: uses, expiresAt })
    const lanOnly = this.components.reachability.status().reachability === 'private' && !addrs.some(a => a.includes('/p2p-circuit'))
    const warning = lanOnly ? 'this node is behind a NAT and holds no relay slot: the token works only from its own network (peer this node with a public one first; it then listens through it)' : ''
    return { token, expiresAt, warning }
  }

  /** Redeems another node's token: dials it, proves the secret, and both sides record the other as trusted. */
  async redeem (text: string): Promise<PeerRecord> {
    const claims = readToken(text)
    if (claims.peerId === this.init.key.peerId) throw new InvalidArgumentError('this token was issued by this node; redeem it on the other one')
    const me = this.init.self()
    const problem = this.init.trusted.nameProblem(claims.name, claims.domain, claims.peerId, me)
    if (problem !== undefined) throw new FailedPreconditionError(issuerNameRefusal(problem, claims.name, claims.domain))
    const issuer = peerIdFromString(claims.peerId)
    const usable = usableAddrs(claims.addrs)
    if (usable.length === 0) throw new InvalidArgumentError('this peering token carries no address to reach its issuer at')
    const addrs = usable.map(a => withPeer(multiaddr(a), claims.peerId))
    let stream: Stream
    try {
      const dialFirst = async (signal: AbortSignal): Promise<Connection> => await dialAt(this.components.transportManager, addrs, signal)
      stream = (await openStream(this.components.connectionManager, issuer, PEER_PROTOCOL, AbortSignal.timeout(PEERING_DIAL_MS), dialFirst)).stream
    } catch (err) {
      const each: unknown[] = err instanceof AggregateError ? err.errors : [err]
      if (each.some(isWrongPeer)) {
        throw new FailedPreconditionError(`the node answering at ${claims.addrs[0].replace(/\/p2p\/.*$/, '')} is not the one that issued this token (${claims.name})`)
      }
      throw new PeerUnreachableError(`cannot reach ${claims.name} at ${claims.addrs.join(', ')}: ${messageOf(err)}`)
    }
    let welcome: PeerWelcome
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
      await lp.write(PeerHello.encode({ secret: Buffer.from(claims.secret), name: me.name, domain: me.domain, addrs: reachableAt(this.components.addressManager.getAddresses()), unpeer: false }).finish())
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
    return record
  }

  /** Withdraws trust here and, if it can be reached, on the other side too. */
  async unpeer (who: string): Promise<boolean> {
    const record = this.init.trusted.lookup(who)
    await this.forget(record.peerId)
    const cm = this.components.connectionManager
    const id = peerIdFromString(record.peerId)
    let notified = false
    // Twice at most: a connection that was being replaced (a relayed one going direct) fails the first stream,
    // and the second goes over a fresh one.
    for (let attempt = 0; attempt < 2 && !notified; attempt++) {
      try {
        const stream = await cm.openStream(id, [PEER_PROTOCOL], { signal: AbortSignal.timeout(CALL_TIMEOUT_MS), runOnLimitedConnection: true })
        const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
        const me = this.init.self()
        await lp.write(PeerHello.encode({ secret: Buffer.alloc(0), name: me.name, domain: me.domain, addrs: [], unpeer: true }).finish())
        notified = PeerWelcome.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray()).error === ''
        await stream.close().catch(() => {})
      } catch {}
      await cm.closeConnections(id).catch(() => {})
    }
    return notified
  }

  /**
   * Trusts a peer whose identity this node knows without a token: a nested node's, whose key the host made, and
   * the host's, which the nested node is told at its start. Nothing is asked of the other side.
   */
  async adopt (record: PeerRecord): Promise<void> {
    const problem = this.init.trusted.nameProblem(record.name, record.domain, record.peerId, this.init.self())
    if (problem !== undefined) throw new FailedPreconditionError(issuerNameRefusal(problem, record.name, record.domain))
    await this.trust(record)
  }

  /** Withdraws trust from a peer adopted so, without telling it (a nested node that is gone). */
  async disown (peerId: string): Promise<void> {
    await this.forget(peerId)
    await this.components.connectionManager.closeConnections(peerIdFromString(peerId)).catch(() => {})
  }

  /** Records a peer as trusted (the services watching the trust table act on it) and keeps it connected. */
  private async trust (record: PeerRecord): Promise<void> {
    await this.init.trusted.add(record)
    await this.remember(record)
    this.init.log('info', 'peer trusted', { name: record.name, peerId: record.peerId })
  }

  private async forget (peerId: string): Promise<void> {
    const record = await this.init.trusted.remove(peerId)
    const id = peerIdFromString(peerId)
    this.components.relay.reservations.delete(id)
    await this.components.peerStore.merge(id, { tags: { [KEEP_ALIVE]: undefined } }).catch(() => {})
    if (record !== undefined) this.init.log('info', 'peer no longer trusted', { name: record.name, peerId })
  }

  /** Keeps a trusted peer's addresses and asks libp2p to keep (and restore) a connection to it. */
  private async remember (record: PeerRecord): Promise<void> {
    await this.components.peerStore.merge(peerIdFromString(record.peerId), { multiaddrs: parseAddrs(record.addrs), tags: { [KEEP_ALIVE]: { value: 1 } } })
  }

  /** The issuer's side of peering (and of unpeering). */
  private async onPeer (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
    const remote = connection.remotePeer.toString()
    const me = this.init.self()
    try {
      const hello = PeerHello.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray())
      let error = ''
      if (hello.unpeer) {
        if (this.init.trusted.has(remote)) await this.forget(remote)
      } else {
        error = await this.admit(remote, hello)
      }
      await lp.write(PeerWelcome.encode({ error, name: me.name, domain: me.domain }).finish())
      await stream.close()
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
    const problem = this.init.trusted.nameProblem(hello.name, hello.domain, remote, me)
    if (problem !== undefined) return redeemerNameRefusal(problem, hello.name, hello.domain, me.name)
    await this.init.tokens.put(id, { ...token, usesLeft: token.usesLeft - 1 })
    try {
      await this.trust({ peerId: remote, name: hello.name, domain: hello.domain, addrs: usableAddrs(hello.addrs), trustedAt: Date.now() })
    } catch (err) {
      return messageOf(err)
    }
    return ''
  }
}

/** The service factory, for createLibp2p's `services`. */
export function peering (init: PeeringInit): (components: PeeringComponents) => PeeringService {
  return components => new PeeringService(components, init)
}

/** True for the error of a dial that reached another node than the one it meant to (the token's issuer). */
function isWrongPeer (err: unknown): boolean {
  return err instanceof Error && (err.name === 'UnexpectedPeerError' || /unexpected peer|remote peer id|does not match expected remote identity/i.test(err.message))
}

function tokenId (secret: Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex')
}

function withPeer (addr: Multiaddr, peerId: string): Multiaddr {
  return addr.toString().includes('/p2p/') ? addr : multiaddr(`${addr.toString()}/p2p/${peerId}`)
}

/** The addresses a peer sent that are printable multiaddrs, at most 32 of them. */
function usableAddrs (addrs: string[]): string[] {
  return parseAddrs(addrs.filter(isAddrText)).slice(0, 32).map(a => a.toString())
}
