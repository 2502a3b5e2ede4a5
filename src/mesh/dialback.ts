// /aurae/dialback/1.0.0: a trusted peer dials a node's own addresses back on fresh connections and says which reached it.
//
// Served to trusted peers only, on direct connections only. A request names at most MAX_REQUESTED addresses; only those
// on the IP the request came from are dialled (no one can aim the dial at a third party), at most MAX_DIALS of them,
// each within DIAL_TIMEOUT_MS. Each dial opens a new connection, checks it reached the requester's PeerId, and closes
// that connection only: the one the request came in on (which may carry a relay reservation) is never touched.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { DialbackOutcome, DialbackRequest, DialbackResponse, type DialbackResult } from '../gen/aurae/mesh/v0/dialback.ts'
import { ipOf, isDirectConnection, isRelayed } from './addresses.ts'
import { sameIp } from './public-ip.ts'

export const DIALBACK_PROTOCOL = '/aurae/dialback/1.0.0'
const MAX_REQUESTED = 8
const MAX_DIALS = 4
const DIAL_TIMEOUT_MS = 4_000
const MAX_FRAME = 8 * 1024
const READ_TIMEOUT_MS = 5_000
/** The asking side waits for every dial, plus a margin for the round trip. */
const ANSWER_TIMEOUT_MS = DIAL_TIMEOUT_MS + 6_000

export interface DialbackServer {
  trusts: (peerId: string) => boolean
  /** Opens a new connection to `addr` (never one already open). */
  dial: (addr: Multiaddr, signal: AbortSignal) => Promise<Connection>
  /** Every connection open now, to tell a new one from one that was already there. */
  connections: () => Connection[]
}

/** Answers one request on `stream`, which arrived on `connection`. */
export async function serveDialback (stream: Stream, connection: Connection, server: DialbackServer): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  const answer = async (res: Partial<DialbackResponse>): Promise<void> => {
    await lp.write(DialbackResponse.encode({ error: '', results: [], ...res }).finish(), { signal: AbortSignal.timeout(READ_TIMEOUT_MS) })
    await stream.close().catch(() => stream.abort(new Error('closed')))
  }
  try {
    const requesterIp = ipOf(connection.remoteAddr)
    if (!server.trusts(connection.remotePeer.toString())) return await answer({ error: 'not trusted: peer first' })
    if (!isDirectConnection(connection) || requesterIp === undefined) return await answer({ error: 'dial-backs are answered on direct connections only' })
    const req = DialbackRequest.decode((await lp.read({ signal: AbortSignal.timeout(READ_TIMEOUT_MS) })).subarray())
    let dials = 0
    const results = req.addrs.slice(0, MAX_REQUESTED).map(async (text): Promise<DialbackResult> => {
      const target = dialable(text, requesterIp, connection.remotePeer)
      if (target === undefined || dials >= MAX_DIALS) return { addr: text, outcome: DialbackOutcome.DIALBACK_OUTCOME_REFUSED }
      dials++
      return { addr: text, outcome: await dialOnce(server, target, connection.remotePeer) }
    })
    await answer({ results: await Promise.all(results) })
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}

/** Asks the peer at the other end of `connection` to dial `addrs`; returns its per-address results. */
export async function askDialback (connection: Connection, addrs: string[], signal?: AbortSignal): Promise<DialbackResult[]> {
  const limit = AbortSignal.any([AbortSignal.timeout(ANSWER_TIMEOUT_MS), ...(signal === undefined ? [] : [signal])])
  const stream = await connection.newStream(DIALBACK_PROTOCOL, { signal: limit })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    await lp.write(DialbackRequest.encode({ addrs: addrs.slice(0, MAX_REQUESTED) }).finish(), { signal: limit })
    const res = DialbackResponse.decode((await lp.read({ signal: limit })).subarray())
    await stream.close().catch(() => {})
    if (res.error !== '') throw new Error(res.error.slice(0, 200))
    return res.results
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/** The address to dial for `text`, when it is a plain direct address on the requester's own IP; else undefined. */
function dialable (text: string, requesterIp: string, requester: PeerId): Multiaddr | undefined {
  let addr: Multiaddr
  try {
    addr = multiaddr(text)
  } catch {
    return undefined
  }
  const ip = ipOf(addr)
  if (ip === undefined || isRelayed(addr) || !sameIp(ip, requesterIp)) return undefined
  const ids = addr.getComponents().filter(c => c.name === 'p2p')
  if (ids.some(c => c.value !== requester.toString())) return undefined
  // Dialled without its PeerId: libp2p would join a dial to that peer already under way and hand back its connection,
  // which is not ours to close. The PeerId is checked once connected.
  return ids.length > 0 ? addr.decapsulateCode(ids[0].code) : addr
}

async function dialOnce (server: DialbackServer, target: Multiaddr, requester: PeerId): Promise<DialbackOutcome> {
  const before = new Set(server.connections().map(c => c.id))
  let conn: Connection
  try {
    conn = await server.dial(target, AbortSignal.timeout(DIAL_TIMEOUT_MS))
  } catch {
    return DialbackOutcome.DIALBACK_OUTCOME_UNREACHABLE
  }
  const reached = conn.remotePeer.equals(requester)
  if (!before.has(conn.id)) await conn.close({ signal: AbortSignal.timeout(1_000) }).catch(() => conn.abort(new Error('dial-back done')))
  return reached ? DialbackOutcome.DIALBACK_OUTCOME_REACHED : DialbackOutcome.DIALBACK_OUTCOME_UNREACHABLE
}
