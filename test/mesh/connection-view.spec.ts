import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { connectionView } from '../../src/mesh/connection-view.ts'

const PEER = '12D3KooWGRUVh4uC7QwqJjG9Q1ZJk8ygLZc8kPSkVJ2gdoH5ExJK'
const RELAY = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'

/** The few fields of a connection the view reads. */
const conn = (remote: string, opts: { direction?: 'inbound' | 'outbound', open?: number, relayed?: boolean, status?: string } = {}): Connection => ({
  remoteAddr: multiaddr(remote),
  direction: opts.direction ?? 'outbound',
  timeline: { open: opts.open ?? 1000 },
  limits: opts.relayed === true ? { bytes: 1n } : undefined,
  status: opts.status ?? 'open'
}) as unknown as Connection

describe('how peers shows a connection', () => {
  it('shows an outbound direct connection at the address dialled', () => {
    expect(connectionView([conn(`/ip4/10.0.0.2/tcp/4710/p2p/${PEER}`, { open: 5 })], [])).toEqual({ kind: 'direct', addr: '/ip4/10.0.0.2/tcp/4710', since: 5 })
  })

  it('shows an inbound one at the address the peer announced on that IP, else at the IP alone', () => {
    const inbound = conn('/ip4/10.0.0.3/tcp/53122', { direction: 'inbound' })
    const known = [multiaddr('/ip4/192.168.1.9/tcp/4710'), multiaddr('/ip4/10.0.0.3/tcp/4710'), multiaddr(`/ip4/10.0.0.3/tcp/4710/p2p/${RELAY}/p2p-circuit`)]
    expect(connectionView([inbound], known)?.addr).toBe('/ip4/10.0.0.3/tcp/4710')
    expect(connectionView([inbound], [multiaddr('/ip4/192.168.1.9/tcp/4710')])?.addr).toBe('/ip4/10.0.0.3')
    expect(connectionView([conn('/ip6/2001:db8::7/tcp/40000', { direction: 'inbound' })], [])?.addr).toBe('/ip6/2001:db8::7')
  })

  it('prefers a direct connection to a relayed one, and the oldest, so a dial-back\'s moment does not reset SINCE', () => {
    const relayed = conn(`/ip4/10.0.0.1/tcp/4710/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`, { relayed: true, open: 1 })
    expect(connectionView([relayed], [])).toEqual({ kind: 'relayed', addr: `/ip4/10.0.0.1/tcp/4710/p2p/${RELAY}/p2p-circuit/p2p/${PEER}`, since: 1 })
    const old = conn('/ip4/10.0.0.2/tcp/4710', { open: 10 })
    const fresh = conn('/ip4/10.0.0.2/tcp/4710', { open: 20 })
    expect(connectionView([relayed, fresh, old], [])).toEqual({ kind: 'direct', addr: '/ip4/10.0.0.2/tcp/4710', since: 10 })
  })

  it('sees no connection in one that is closing or closed', () => {
    expect(connectionView([conn('/ip4/10.0.0.2/tcp/4710', { status: 'closing' }), conn('/ip4/10.0.0.2/tcp/4710', { status: 'closed' })], [])).toBeUndefined()
  })
})
