// Names on the mesh's DHT as a libp2p service: this node publishes its signed record `name@domain → PeerId,
// addresses` (once up, when its addresses change, on a peer's arrival while no peer has taken the record yet, and
// every few minutes), and resolves other nodes' names by the NameBook's rules.
import { serviceCapabilities, serviceDependencies, type Libp2pEvents, type PeerStore, type Startable, type TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import type { KadDHT } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { FailedPreconditionError, NotFoundError, messageOf } from '../errors.ts'
import type { NameRecord } from '../gen/aurae/mesh/v0/mesh.ts'
import { formatNodeName } from '../names/parse.ts'
import { parseAddrs, reachableAt } from './addresses.ts'
import type { NodeKey } from './keys.ts'
import type { NameBook } from './name-book.ts'
import { nameKey, signNameRecord } from './names.ts'
import type { TrustedPeers } from './trusted.ts'

const REPUBLISH_MS = 5 * 60_000
const PUBLISH_TIMEOUT_MS = 30_000
const LOOKUP_TIMEOUT_MS = 5_000

/** What `resolve` found: the record a name resolves to here, and any other keys that claim it. */
export interface Resolved {
  record: NameRecord
  /** PeerIds that also claim the name and were refused. */
  others: string[]
  /** True when the name is pinned by peering (or is this node's own). */
  pinned: boolean
}

export interface NameServiceInit {
  key: NodeKey
  self: () => { name: string, domain: string }
  /** Who holds which name here; the DHT's store and selector consult the same book. */
  book: NameBook
  /** The PeerId `name@domain` is pinned to: this node's own name to its own key, a trusted peer's to the key it peered with. */
  pinnedTo: (name: string, domain: string) => string | undefined
  trusted: Pick<TrustedPeers, 'get'>
  log: (level: 'info', msg: string, fields?: object) => void
}

export interface NameServiceComponents {
  addressManager: Pick<AddressManager, 'getAddresses'>
  connectionManager: Pick<ConnectionManager, 'getConnections'>
  peerStore: Pick<PeerStore, 'merge'>
  events: TypedEventTarget<Libp2pEvents>
  dht: Pick<KadDHT, 'get' | 'put'>
}

export class NameService implements Startable {
  readonly [Symbol.toStringTag] = 'aurae/names'
  readonly [serviceCapabilities] = ['@aurae/names']
  readonly [serviceDependencies] = ['@libp2p/kad-dht']
  private republish?: NodeJS.Timeout
  private publishing?: Promise<void>
  private publishAgain = false
  /** The addresses in the record last stored on a peer; undefined until one took it. */
  private published?: string

  constructor (private readonly components: NameServiceComponents, private readonly init: NameServiceInit) {}

  start (): void {}

  afterStart (): void {
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.republish = setInterval(() => this.publish(), REPUBLISH_MS).unref()
  }

  stop (): void {
    clearInterval(this.republish)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
  }

  /** Puts this node's signed name record on the DHT; calls while one runs fold into one more run. */
  publish (): void {
    if (this.publishing !== undefined) {
      this.publishAgain = true
      return
    }
    const me = this.init.self()
    if (me.name === '') return
    this.publishing = (async () => {
      const record = { name: me.name, domain: me.domain, peerId: this.init.key.peerId, addrs: this.addrs(), seq: Date.now() }
      for await (const e of this.components.dht.put(nameKey(me.name, me.domain), signNameRecord(this.init.key, record), { signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS) })) {
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
      for await (const event of this.components.dht.get(key, { signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS) })) {
        if (event.name === 'VALUE') values.push(event.value)
        if (event.name === 'PEER_RESPONSE' && event.record != null) values.push(event.record.value)
      }
    } catch {
      // A lookup cut short (by the timeout, or a node refusing the record it was sent as a correction) still counts what it found.
    }
    const found = this.init.book.resolve(key, values)
    const record = found.record ?? (found.pinned ? this.pinnedRecord(name, domain) : undefined)
    const full = formatNodeName(name, domain)
    if (record === undefined) {
      if (found.others.length > 1) throw new FailedPreconditionError(`${full} is claimed by several keys (${found.others.join(', ')}); peer with the right node to pin the name`)
      throw new NotFoundError(`no node named ${full} on the mesh`)
    }
    await this.components.peerStore.merge(peerIdFromString(record.peerId), { multiaddrs: parseAddrs(record.addrs) }).catch(() => {})
    return { record, others: found.others, pinned: found.pinned }
  }

  /** The record of a pinned name when the DHT has none of its key's: what peering (or this node itself) knows. */
  private pinnedRecord (name: string, domain: string): NameRecord | undefined {
    const peerId = this.init.pinnedTo(name, domain)
    if (peerId === this.init.key.peerId) return { name, domain, peerId, addrs: this.addrs(), seq: Date.now() }
    const p = peerId === undefined ? undefined : this.init.trusted.get(peerId)
    if (p === undefined) return undefined
    const live = this.components.connectionManager.getConnections(peerIdFromString(p.peerId)).map(c => c.remoteAddr.toString())
    return { name, domain, peerId: p.peerId, addrs: live.length > 0 ? live : p.addrs, seq: p.trustedAt }
  }

  private addrs (): string[] {
    return reachableAt(this.components.addressManager.getAddresses())
  }

  /** Our addresses changed: the record taken by a peer says where we were. */
  private readonly onSelfUpdate = (): void => {
    if (this.published !== undefined && this.published !== this.addrs().join(' ')) this.publish()
  }

  /** A peer arrived while none has taken our record yet: it may take it. */
  private readonly onIdentify = (): void => {
    if (this.published === undefined) this.publish()
  }
}

/** The service factory, for createLibp2p's `services`. */
export function names (init: NameServiceInit): (components: NameServiceComponents) => NameService {
  return components => new NameService(components, init)
}
