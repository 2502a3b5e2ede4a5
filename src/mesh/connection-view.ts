// How `aurae peers` shows a peer's connection: direct or relayed, at which address, open since when.
import type { Connection, PeerId, PeerStore } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Ping } from '@libp2p/ping'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerInfo } from '../gen/aurae/mesh/v0/mesh.ts'
import { addrKey, ipOf, isDirectConnection, isRelayed } from './addresses.ts'
import { sameIp } from './public-ip.ts'
import type { PeerRecord } from './trusted.ts'

export interface ConnectionView {
  kind: 'direct' | 'relayed'
  /** Where the peer is: its own address, never the port an inbound connection happened to come from. */
  addr: string
  /** When the connection opened (ms since the epoch): a reconnection starts it again. */
  since: number
}

/**
 * The connection that stands for a peer: a direct one before a relayed one, and of those the oldest (a dial-back
 * opens a second connection for a moment). Undefined when none is open.
 */
export function connectionView (connections: Connection[], known: Multiaddr[]): ConnectionView | undefined {
  const open = connections.filter(c => c.status === 'open')
  const best = [...open].sort((a, b) => Number(isDirectConnection(b)) - Number(isDirectConnection(a)) || a.timeline.open - b.timeline.open)[0]
  if (best === undefined) return undefined
  if (!isDirectConnection(best)) return { kind: 'relayed', addr: best.remoteAddr.toString(), since: best.timeline.open }
  return { kind: 'direct', addr: best.direction === 'outbound' ? addrKey(best.remoteAddr) : inboundAddr(best.remoteAddr, known), since: best.timeline.open }
}

/** An inbound connection's source port is ephemeral: the peer's announced address on that IP, else the IP alone. */
function inboundAddr (remote: Multiaddr, known: Multiaddr[]): string {
  const ip = ipOf(remote)
  if (ip === undefined) return addrKey(remote)
  const transport = remote.getComponents()[1]?.name
  const announced = known.find(a => !isRelayed(a) && sameIp(ipOf(a) ?? '', ip) && a.getComponents()[1]?.name === transport)
  return announced !== undefined ? addrKey(announced) : `/${remote.getComponents()[0].name}/${ip}`
}

/** Where `peerInfo` looks: the host's connections, what its peer store knows, and libp2p's ping. */
export interface PeerInfoSources {
  getConnections: (peer: PeerId) => Connection[]
  peerStore: Pick<PeerStore, 'get'>
  ping: Pick<Ping, 'ping'>
}

/** One trusted peer as `aurae peers` shows it; with `measure`, a fresh round trip on its connection. */
export async function peerInfo (host: PeerInfoSources, p: PeerRecord, measure: boolean): Promise<PeerInfo> {
  const id = peerIdFromString(p.peerId)
  const known = await host.peerStore.get(id).then(peer => peer.addresses.map(a => a.multiaddr), () => [])
  const view = connectionView(host.getConnections(id), known)
  let latencyMs = -1
  if (view !== undefined && measure) latencyMs = await host.ping.ping(id, { signal: AbortSignal.timeout(1000) }).catch(() => -1)
  return {
    name: p.name,
    domain: p.domain,
    peerId: p.peerId,
    addrs: view !== undefined ? [view.addr] : p.addrs,
    connected: view !== undefined,
    latencyMs,
    trustedAtMs: p.trustedAt,
    connection: view?.kind ?? '',
    connectedSinceMs: view?.since ?? 0,
    nested: p.nested === true
  }
}
