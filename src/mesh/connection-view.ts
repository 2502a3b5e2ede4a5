// How `aurae peers` shows a peer's connection: direct or relayed, at which address, open since when.
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { addrKey, ipOf, isDirectConnection, isRelayed } from './addresses.ts'
import { sameIp } from './public-ip.ts'

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
