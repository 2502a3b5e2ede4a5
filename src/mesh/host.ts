// The libp2p host inside auraed: transports, the private DHT with its name rules, and a relay that serves trusted peers only.
import { readFileSync } from 'node:fs'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webRTC } from '@libp2p/webrtc'
import { createLibp2p } from 'libp2p'
import { AddressBook } from './address-book.ts'
import { dialOrder } from './dial-order.ts'
import type { NameBook } from './name-book.ts'
import { DHT_PREFIX, NameStore } from './name-store.ts'
import { nameSelectors, nameValidators } from './names.ts'
import { NatTraversal, natTraversal } from './nat.ts'
import { reachability } from './reachability.ts'

export const KAD_PROTOCOL = '/aurae/kad/1.0.0'

export interface HostInit {
  keyPath: string
  listen: string[]
  /** True when the peer has been trusted through a peering token. */
  trusts: (peerId: string) => boolean
  names: NameBook
  log: (level: 'info' | 'warn', msg: string, fields?: object) => void
}

export type Host = Awaited<ReturnType<typeof createHost>>

export async function createHost (init: HostInit) {
  const trusted = (peer: { toString: () => string }): boolean => init.trusts(peer.toString())
  // What trusted peers' dial-backs taught us decides what is announced: only addresses others can dial.
  const book = new AddressBook({ trusts: init.trusts })
  // Whether peers outside this node's networks can dial it (undefined until one of them answered a dial-back).
  const dialable = (): boolean | undefined => book.dialableFromOutside()
  let nat: NatTraversal | undefined
  return await createLibp2p({
    privateKey: privateKeyFromProtobuf(readFileSync(init.keyPath)),
    // WebRTC listens through relay slots: its address is a relayed one, over which ICE is negotiated.
    addresses: { listen: [...init.listen, '/webrtc'], announceFilter: addrs => book.announce(addrs) },
    datastore: new NameStore(init.names),
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
        selectors: nameSelectors(key => init.names.holderOf(key))
      }),
      // Slots go to trusted peers only, and what is relayed to them has no data or time cap.
      relay: circuitRelayServer({ reservations: { applyDefaultLimit: false } }),
      nat: (components: Parameters<ReturnType<typeof natTraversal>>[0]) => {
        nat = natTraversal({ trusts: init.trusts, log: init.log, dialable, listen: init.listen })(components)
        return nat
      },
      reachability: reachability({ book, trusts: init.trusts, onNetworkChange: () => nat?.networkChanged() })
    }
  })
}
