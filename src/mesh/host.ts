// The libp2p host inside auraed: transports, the private DHT with its name rules, a relay that serves trusted peers
// only, and the mesh's own services (peering, remote calls, names, reachability, NAT traversal), wired here.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webRTC } from '@libp2p/webrtc'
import { createLibp2p } from 'libp2p'
import type { Table } from '../store/store.ts'
import { AddressBook } from './address-book.ts'
import { dialOrder } from './dial-order.ts'
import type { NodeKey } from './keys.ts'
import { NameBook } from './name-book.ts'
import { names } from './name-service.ts'
import { DHT_PREFIX, NameStore } from './name-store.ts'
import { nameSelectors, nameValidators } from './names.ts'
import { NatTraversal, natTraversal } from './nat.ts'
import { peering } from './peering.ts'
import { reachability } from './reachability.ts'
import { rpc, type Dispatch } from './rpc.ts'
import type { TokenRecord } from './token.ts'
import type { TrustedPeers } from './trusted.ts'

export const KAD_PROTOCOL = '/aurae/kad/1.0.0'

export interface HostInit {
  key: NodeKey
  listen: string[]
  /** The peers trusted through a peering token, already loaded. */
  trusted: TrustedPeers
  /** The tokens this node issued, by the hash of their secret. */
  tokens: Table<TokenRecord>
  self: () => { name: string, domain: string }
  dispatch: Dispatch
  log: (level: 'info' | 'warn', msg: string, fields?: object) => void
}

export type Host = Awaited<ReturnType<typeof createHost>>

/** Creates and starts the host with every service the mesh runs. */
export async function createHost (init: HostInit) {
  const trusts = (peerId: string): boolean => init.trusted.has(peerId)
  const trusted = (peer: { toString: () => string }): boolean => trusts(peer.toString())
  // What trusted peers' dial-backs taught us decides what is announced: only addresses others can dial.
  const book = new AddressBook({ trusts })
  // Whether peers outside this node's networks can dial it (undefined until one of them answered a dial-back).
  const dialable = (): boolean | undefined => book.dialableFromOutside()
  // The PeerId a name is pinned to: this node's own name to its own key, a trusted peer's to the key it peered with.
  const pinnedTo = (name: string, domain: string): string | undefined => {
    const me = init.self()
    if (me.name !== '' && name === me.name && domain === me.domain) return init.key.peerId
    return init.trusted.pinnedTo(name, domain)
  }
  const nameBook = new NameBook(pinnedTo)
  let nat: NatTraversal | undefined
  return await createLibp2p({
    privateKey: init.key.privateKey,
    // WebRTC listens through relay slots: its address is a relayed one, over which ICE is negotiated.
    addresses: { listen: [...init.listen, '/webrtc'], announceFilter: addrs => book.announce(addrs) },
    datastore: new NameStore(nameBook),
    // ICE learns this node's mapped addresses only from trusted peers' STUN servers (never a public default),
    // and an empty list keeps it from asking anyone else.
    transports: [tcp(), circuitRelayTransport(), webRTC({ rtcConfiguration: () => ({ iceServers: (nat?.stunServers() ?? []).map(urls => ({ urls })) }) })],
    connectionEncrypters: [noise()],
    // A paused stream (a slow reader) holds what the window let in: keep that under yamux's 4 MB read buffer.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 2 * 1024 * 1024 } })],
    // Addresses are dialled one after another: one that never answers (another network's LAN, an address a peer
    // announced before it found itself behind a NAT) holds up the rest for this long, where libp2p's default is 6 s.
    // WebRTC takes longer than that on slow links; nat.ts dials it outside this queue.
    connectionManager: { addressSorter: dialOrder(), addressDialTimeout: 3_000 },
    connectionGater: {
      // A private mesh: peers on private and loopback addresses are the normal case.
      denyDialMultiaddr: () => false,
      // The relay serves trusted peers: only they get a slot, and a connection is relayed only to a trusted peer
      // (from anyone: a node behind a NAT is reached through its relay by its own peers, who may be strangers here).
      // ... and only while this node is not behind a NAT itself: a slot there would give an address no one can dial.
      denyInboundRelayReservation: peer => !trusted(peer) || dialable() === false,
      denyOutboundRelayedConnection: (_source, destination) => !trusted(destination)
    },
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      // libp2p's connection monitor pings every connection and aborts it when a ping fails, even for want of a
      // stream slot: `peers` pinging at the same moment must not be that. Room for both, on both sides.
      ping: ping({ maxOutboundStreams: 8, maxInboundStreams: 8 }),
      dht: kadDHT({
        protocol: KAD_PROTOCOL,
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        datastorePrefix: DHT_PREFIX,
        validators: nameValidators,
        selectors: nameSelectors(key => nameBook.holderOf(key))
      }),
      // Slots go to trusted peers only, and what is relayed to them has no data or time cap.
      relay: circuitRelayServer({ reservations: { applyDefaultLimit: false } }),
      nat: (components: Parameters<ReturnType<typeof natTraversal>>[0]) => {
        nat = natTraversal({ trusted: init.trusted, log: init.log, dialable, listen: init.listen })(components)
        return nat
      },
      reachability: reachability({ book, trusted: init.trusted, onNetworkChange: () => nat?.networkChanged() }),
      peering: peering({ key: init.key, listen: init.listen, trusted: init.trusted, tokens: init.tokens, self: init.self, log: init.log }),
      rpc: rpc({ trusted: init.trusted, self: init.self, dispatch: init.dispatch }),
      names: names({ key: init.key, self: init.self, book: nameBook, pinnedTo, trusted: init.trusted, log: init.log })
    }
  })
}
