import { createServer, type Server } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { Connection, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DialbackOutcome, DialbackRequest, DialbackResponse } from '../../src/gen/aurae/mesh/v0/dialback.ts'
import { startNode, until, type TestNode } from '../helpers/node.ts'
import { openPeering, secretOf, stranger } from '../helpers/stranger.ts'

const DIALBACK = '/aurae/dialback/1.0.0'

describe('dial-backs go only to trusted peers, at their own address', () => {
  let emily: TestNode
  let emilyAddr: string
  let emilyId: string
  const nodes: Libp2p<any>[] = []
  let peered = 0
  const servers: Server[] = []
  beforeAll(async () => {
    emily = await startNode('emily@example.org')
    const status = JSON.parse((await emily.cli(['status', '--json'])).stdout)
    emilyAddr = status.mesh.addrs[0]
    emilyId = status.peerId
  })
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop()
    for (const s of servers.splice(0)) s.close()
    // libp2p takes at most 5 new connections a second from one address.
    await sleep(1100)
  })
  afterAll(async () => {
    await emily?.stop()
  })

  /** A libp2p peer on 127.0.0.1 that counts the connections emily opens to it; trusted by emily when `trusted`. */
  const peer = async (trusted: boolean): Promise<{ node: Libp2p<any>, inbound: Connection[] }> => {
    const { node } = await stranger({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp(), circuitRelayTransport()], services: { identify: identify() } })
    nodes.push(node)
    const inbound: Connection[] = []
    node.addEventListener('connection:open', e => { if (e.detail.direction === 'inbound') inbound.push(e.detail) })
    if (trusted) {
      const token = (await emily.cli(['proxy'])).stdout.trim()
      const welcome = await (await openPeering(node, emilyAddr)).send({ secret: secretOf(token), name: `p${++peered}`, domain: 'example.org' })
      expect(welcome.error).toBe('')
    }
    return { node, inbound }
  }
  /** Sends one dial-back request on `stream`, and reads the answer. */
  const askOn = async (stream: Stream, addrs: string[]): Promise<DialbackResponse> => {
    const lp = lpStream(stream)
    await lp.write(DialbackRequest.encode({ addrs }).finish())
    const res = DialbackResponse.decode((await lp.read({ signal: AbortSignal.timeout(20_000) })).subarray())
    await stream.close().catch(() => {})
    return res
  }
  /** Sends one dial-back request to emily over the peer's connection to her. */
  const ask = async (node: Libp2p<any>, addrs: string[]): Promise<DialbackResponse> => await askOn(await node.dialProtocol(multiaddr(emilyAddr), DIALBACK), addrs)
  /** Plain TCP listeners on `host` that count who connects (and hang up at once). */
  const listeners = async (host: string, n: number): Promise<{ ports: number[], accepted: () => number }> => {
    let count = 0
    const ports: number[] = []
    for (let i = 0; i < n; i++) {
      const s = createServer(sock => { count++; sock.destroy() })
      servers.push(s)
      await new Promise<void>(resolve => s.listen(0, host, resolve))
      ports.push((s.address() as { port: number }).port)
    }
    return { ports, accepted: () => count }
  }
  const ownAddr = (node: Libp2p<any>): string => node.getMultiaddrs()[0].toString()

  it('dials a trusted peer back on a fresh connection, closes that one, and leaves the one the request came on open', async () => {
    const { node, inbound } = await peer(true)
    const before = node.getConnections().filter(c => c.remotePeer.toString() === emilyId)
    expect(before).toHaveLength(1)
    const res = await ask(node, [ownAddr(node)])
    expect(res).toEqual({ error: '', results: [{ addr: ownAddr(node), outcome: DialbackOutcome.DIALBACK_OUTCOME_REACHED }] })
    expect(inbound.filter(c => c.remotePeer.toString() === emilyId)).toHaveLength(1)
    // emily closes it as soon as it is up: this side sees it closed, or aborted when its own first writes find it gone.
    await until('the dial-back connection to close', () => ['closed', 'aborted'].includes(inbound[0].status))
    expect(before[0].status).toBe('open')
    expect(node.getConnections().filter(c => c.remotePeer.toString() === emilyId).map(c => c.id)).toEqual([before[0].id])
  })

  it('refuses to dial an address of another IP for a trusted peer, however it is spelled', async () => {
    const { node, inbound } = await peer(true)
    const third = await listeners('127.0.0.2', 1)
    const port = third.ports[0]
    const aimed = [`/ip4/127.0.0.2/tcp/${port}`, `/ip4/127.0.0.2/tcp/${port}/p2p/${node.peerId.toString()}`, `/ip6/::ffff:127.0.0.2/tcp/${port}`, `/dns4/localhost/tcp/${port}`, `/ip4/127.0.0.2/tcp/${port}/p2p/${emilyId}/p2p-circuit/p2p/${node.peerId.toString()}`, 'not an address']
    const res = await ask(node, aimed)
    expect(res.error).toBe('')
    expect(res.results.map(r => r.outcome)).toEqual(aimed.map(() => DialbackOutcome.DIALBACK_OUTCOME_REFUSED))
    // emily answers only once every dial she made is over: none reached the third party, none came back here.
    expect(third.accepted()).toBe(0)
    expect(inbound).toHaveLength(0)
  })

  it('refuses to dial its own address on someone else\'s behalf, by PeerId', async () => {
    const { node } = await peer(true)
    const { node: other } = await peer(false)
    const res = await ask(node, [`${ownAddr(other)}/p2p/${other.peerId.toString()}`])
    expect(res.results.map(r => r.outcome)).toEqual([DialbackOutcome.DIALBACK_OUTCOME_REFUSED])
  })

  it('dials at most a handful of addresses for one request', async () => {
    const { node } = await peer(true)
    const many = await listeners('127.0.0.1', 20)
    const res = await ask(node, many.ports.map(p => `/ip4/127.0.0.1/tcp/${p}`))
    const dialled = res.results.filter(r => r.outcome !== DialbackOutcome.DIALBACK_OUTCOME_REFUSED)
    expect(dialled.length).toBeGreaterThan(0)
    expect(dialled.length).toBeLessThanOrEqual(4)
    expect(dialled.every(r => r.outcome === DialbackOutcome.DIALBACK_OUTCOME_UNREACHABLE)).toBe(true)
    expect(many.accepted()).toBe(dialled.length)
  })

  it('answers a stranger with a refusal and dials it nothing', async () => {
    const { node, inbound } = await peer(false)
    const res = await ask(node, [ownAddr(node)])
    expect(res).toEqual({ error: 'not trusted: peer first', results: [] })
    expect(inbound).toHaveLength(0)
  })

  it('refuses a request that comes over a relayed connection, from a peer it trusts', async () => {
    // dora is reached through emily, her relay; a trusted peer of hers connects to her only that way.
    const dora = await startNode('dora@example.org', ['--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/p2p-circuit'])
    try {
      expect((await dora.cli(['proxy', (await emily.cli(['proxy'])).stdout.trim()])).code).toBe(0)
      const relayedAddr = await until('dora\'s relayed address', async () => (JSON.parse((await dora.cli(['status', '--json'])).stdout).mesh.addrs as string[]).find(a => a.startsWith(`${emilyAddr}/p2p-circuit/`)), 30_000)
      const { node, inbound } = await peer(false)
      const welcome = await (await openPeering(node, relayedAddr)).send({ secret: secretOf((await dora.cli(['proxy'])).stdout.trim()), name: `p${++peered}`, domain: 'example.org' })
      expect(welcome.error).toBe('')
      const relayed = node.getConnections().find(c => relayedAddr.endsWith(`/p2p/${c.remotePeer.toString()}`))
      expect(relayed?.remoteAddr.toString()).toContain('/p2p-circuit')
      const res = await askOn(await (relayed as Connection).newStream(DIALBACK), [ownAddr(node)])
      expect(res).toEqual({ error: 'dial-backs are answered on direct connections only', results: [] })
      expect(inbound.filter(c => relayedAddr.endsWith(`/p2p/${c.remotePeer.toString()}`))).toHaveLength(0)
    } finally {
      await dora.stop()
    }
  })
})
