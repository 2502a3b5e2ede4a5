// How the mesh's own protocols (peering, calls) reach a peer: a stream on the best connection there is, a path that
// cannot carry one given up for the next, and a token's addresses dialled straight through the transports.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager, TransportManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import { dialRank, localNetworks, staggeredDial } from './dial-order.ts'

/** How long opening a stream, or a peer's first answer on it, may take. */
export const CALL_TIMEOUT_MS = 5_000
/** How long a call waits for a stream on one connection when the peer has another to fall back to. */
const FALLBACK_AFTER_MS = 2_000
/** How long dialAt waits on one address before it dials the next one as well. */
const STAGGER_MS = 500

export type Connections = Pick<ConnectionManager, 'getConnections' | 'openConnection' | 'closeConnections'>

/** A connection to the peer (an open one, or a new one), ahead of libp2p's own dials in the queue as libp2p.dial puts it. */
export async function dial (cm: Pick<ConnectionManager, 'openConnection'>, peer: PeerId | Multiaddr, signal: AbortSignal): Promise<Connection> {
  return await cm.openConnection(peer, { priority: 75, signal })
}

/**
 * Opens a stream on the best connection to the peer (a direct one before a relayed one), or on a new one. A
 * connection that cannot open a stream in time is dead even if libp2p has not noticed: it is dropped and the next
 * one tried, so a call falls back to the relay when a direct path dies under it.
 *
 * With `dialFirst` (dialAt a token's addresses), a new connection is made that way, and that dial does not join one
 * libp2p may already be making to the peer (a DHT walk trying a stale LAN address, say), which would hold the
 * peering up for that dial's timeouts.
 */
export async function openStream (cm: Connections, peer: PeerId, protocol: string, signal: AbortSignal, dialFirst?: (signal: AbortSignal) => Promise<Connection>): Promise<{ stream: Stream, connection: Connection }> {
  let lastError: unknown
  for (let attempt = 0; attempt < 2; attempt++) {
    const open = cm.getConnections(peer).filter(c => c.status === 'open')
    // With another connection to fall back to, a path that cannot open a stream in a short while is given up.
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(open.length > 1 ? FALLBACK_AFTER_MS : CALL_TIMEOUT_MS)])
    let connection: Connection | undefined
    try {
      connection = open.length === 0 && dialFirst !== undefined ? await dialFirst(signal) : await dial(cm, peer, deadline)
      const stream = await connection.newStream(protocol, { signal: deadline, runOnLimitedConnection: true })
      return { stream, connection }
    } catch (err) {
      lastError = err
      if (signal.aborted) break
      if (connection === undefined) {
        if (dialFirst === undefined) await cm.closeConnections(peer).catch(() => {})
        break
      }
      connection.abort(new Error('no stream opened in time'))
    }
  }
  throw lastError
}

/**
 * Dials a peer at these addresses (a token's) straight through the transports, in dial order and staggered, not
 * joining a dial libp2p may already be making to the peer: one the DHT started to a LAN address the peer once
 * announced would hold this one up for that address's whole timeout.
 */
export async function dialAt (transports: Pick<TransportManager, 'dial'>, addrs: Multiaddr[], signal: AbortSignal): Promise<Connection> {
  const local = localNetworks()
  const ordered = [...addrs].sort((a, b) => dialRank(a, local) - dialRank(b, local))
  return await staggeredDial(ordered, async (addr, s) => await transports.dial(addr, { signal: s }), {
    staggerMs: STAGGER_MS,
    signal,
    discard: conn => { void conn.close().catch(() => conn.abort(new Error('another address connected first'))) }
  })
}
