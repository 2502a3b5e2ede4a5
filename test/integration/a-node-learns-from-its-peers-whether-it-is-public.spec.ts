import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Token, TokenBody } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { TestNet } from '../helpers/netns.ts'
import { startNode, until, type TestNode } from '../helpers/node.ts'

// The switch (10.213.0.0/24) plays the internet: addresses there count as public, through the test-only setting.
// hidden and carol sit behind NAT routers on private LANs; relay and dave are on the switch.
const PUBLIC = '10.213.0.0/24'
// An address like the one aurae's own container bridge (aur<8 hex>, 10.89.N.1) has on a host that runs containers.
const BRIDGE = { name: 'aur0123abcd', addr: '10.89.7.1' }

describe('a node learns from its trusted peers whether it is public', () => {
  let net: TestNet
  const nodes: TestNode[] = []
  let relay: TestNode
  let hidden: TestNode
  let carol: TestNode
  let dave: TestNode
  let relayId: string
  const status = async (n: TestNode): Promise<any> => JSON.parse((await n.cli(['status', '--json'])).stdout)
  const peersOf = async (n: TestNode): Promise<any[]> => JSON.parse((await n.cli(['peers', '--json'])).stdout)
  const peerOf = async (n: TestNode, name: string): Promise<any> => (await peersOf(n)).find(p => p.name === name)
  const reachability = async (n: TestNode): Promise<string> => (await status(n)).mesh.reachability
  const inNs = (host: string, ...args: string[]): string => execFileSync('ip', ['netns', 'exec', net.ns(host), ...args], { encoding: 'utf8' })
  const start = async (name: string, args: string[]): Promise<TestNode> => {
    const n = await startNode(name, args, net.ns(name))
    nodes.push(n)
    return n
  }

  beforeAll(async () => {
    process.env.AURAE_TEST_PUBLIC_RANGES = PUBLIC
    net = TestNet.create(['relay', 'hidden', 'carol', 'dave'], ['hidden', 'carol'])
    // Both routers drop UDP, as some networks do: the NAT'd pair can then meet only through the relay.
    for (const gw of ['hidden-gw', 'carol-gw']) inNs(gw, 'iptables', '-I', 'FORWARD', '-p', 'udp', '-j', 'DROP')
    inNs('relay', 'ip', 'link', 'add', BRIDGE.name, 'type', 'bridge')
    inNs('relay', 'ip', 'addr', 'add', `${BRIDGE.addr}/24`, 'dev', BRIDGE.name)
    inNs('relay', 'ip', 'link', 'set', BRIDGE.name, 'up')
    relay = await start('relay', ['--listen', '/ip4/0.0.0.0/tcp/4810'])
    relayId = (await status(relay)).peerId
    const viaRelay = ['--bootstrap', `/ip4/${net.addr('relay')}/tcp/4810/p2p/${relayId}`]
    hidden = await start('hidden', ['--listen', `/ip4/${net.addr('hidden')}/tcp/4810`, '--listen', '/p2p-circuit', ...viaRelay])
    carol = await start('carol', ['--listen', `/ip4/${net.addr('carol')}/tcp/4810`, ...viaRelay])
    dave = await start('dave', ['--listen', `/ip4/${net.addr('dave')}/tcp/4810`, ...viaRelay])
  })
  afterAll(async () => {
    for (const n of nodes) await n.stop()
    net?.destroy()
    delete process.env.AURAE_TEST_PUBLIC_RANGES
  })

  it('says public on a public node and private behind a NAT once a trusted peer dialled each back', async () => {
    // Connected, but to no one it trusts: no one has answered yet.
    expect(await reachability(relay)).toBe('unknown')
    expect(await reachability(hidden)).toBe('unknown')
    expect((await hidden.cli(['proxy', (await relay.cli(['proxy'])).stdout.trim()])).code).toBe(0)
    await until('relay to learn it is public', async () => await reachability(relay) === 'public')
    await until('hidden to learn it is private', async () => await reachability(hidden) === 'private')
    const relayAddrs: string[] = (await status(relay)).mesh.addrs
    expect(relayAddrs).toContain(`/ip4/${net.addr('relay')}/tcp/4810/p2p/${relayId}`)
    // hidden announces its relayed address only: not its router's, which the relay could not dial back, nor its LAN
    // address, which no one outside its LAN can dial (a peer on that LAN gets there from the relay, over WebRTC).
    const hiddenAddrs: string[] = await until('hidden\'s relayed address', async () => {
      const a: string[] = (await status(hidden)).mesh.addrs
      return a.some(x => x.includes('/p2p-circuit')) ? a : undefined
    }, 30_000)
    expect(hiddenAddrs.some(a => a.startsWith(`/ip4/${net.addr('hidden')}/tcp/4810/`))).toBe(false)
    expect(hiddenAddrs.some(a => a.startsWith(`/ip4/${net.addr('hidden-gw')}/`))).toBe(false)
  })

  it('puts no container bridge or loopback address in its tokens or its DHT record', async () => {
    const token = (await relay.cli(['proxy'])).stdout.trim()
    const carried = TokenBody.decode(Token.decode(Buffer.from(token.slice('aurae1-'.length), 'base64url')).body).addrs
    expect(carried.some(a => a.includes(`/ip4/${net.addr('relay')}/`))).toBe(true)
    expect(carried.filter(a => a.includes(BRIDGE.addr) || a.includes('/ip4/127.'))).toEqual([])
    expect((await status(relay)).mesh.addrs.filter((a: string) => a.includes(BRIDGE.addr) || a.includes('/ip4/127.'))).toEqual([])
    // dave has not peered with relay: the name resolves through the DHT alone.
    const record = await until('dave to resolve relay', async () => {
      const r = await dave.cli(['resolve', 'relay', '--json'])
      return r.code === 0 ? JSON.parse(r.stdout) : undefined
    })
    expect(record).toMatchObject({ peerId: relayId, pinned: false })
    expect(record.addrs.some((a: string) => a.includes(`/ip4/${net.addr('relay')}/`))).toBe(true)
    expect(record.addrs.filter((a: string) => a.includes(BRIDGE.addr) || a.includes('/ip4/127.'))).toEqual([])
  })

  it('keeps a NAT\'d node\'s relay reservation up while its peers check their addresses', async () => {
    const before = await peerOf(hidden, 'relay')
    expect(before).toMatchObject({ connected: true, connection: 'direct' })
    const checked = Date.parse((await status(relay)).mesh.reachabilityCheckedAt)
    // A new address on relay makes it ask its trusted peers again: hidden dials relay back on a fresh connection.
    inNs('relay', 'ip', 'addr', 'add', '10.213.0.201/24', 'dev', 'eth0')
    await until('relay to be checked again by hidden', async () => Date.parse((await status(relay)).mesh.reachabilityCheckedAt) > checked, 30_000)
    expect(await reachability(relay)).toBe('public')
    expect(await peerOf(hidden, 'relay')).toMatchObject({ connected: true, connection: 'direct', since: before.since })
    expect((await status(hidden)).mesh.addrs.some((a: string) => a.includes(`/p2p/${relayId}/p2p-circuit`))).toBe(true)
  })

  it('lists each peer as connected directly or through a relay, at the peer\'s own address', async () => {
    expect((await carol.cli(['proxy', (await relay.cli(['proxy'])).stdout.trim()])).code).toBe(0)
    expect((await carol.cli(['proxy', (await hidden.cli(['proxy'])).stdout.trim()])).code).toBe(0)
    await until('carol to learn it is private', async () => await reachability(carol) === 'private')
    expect(await peerOf(carol, 'relay')).toMatchObject({ connection: 'direct', addr: `/ip4/${net.addr('relay')}/tcp/4810` })
    const toHidden = await peerOf(carol, 'hidden')
    expect(toHidden.connection).toBe('relayed')
    expect(toHidden.addr).toContain(`/p2p/${relayId}/p2p-circuit`)
    // relay sees both NAT'd nodes come in from their routers' ephemeral ports: it shows the routers' IPs alone.
    expect(await peerOf(relay, 'carol')).toMatchObject({ connection: 'direct', addr: `/ip4/${net.addr('carol-gw')}` })
    expect(await peerOf(relay, 'hidden')).toMatchObject({ connection: 'direct', addr: `/ip4/${net.addr('hidden-gw')}` })
    expect((await carol.cli(['exec', 'through@hidden', '--rm', '--', 'true'])).code).toBe(0)
    const table = (await carol.cli(['peers'])).stdout.split('\n')
    expect(table[0].split(/\s+/)).toEqual(['NAME', 'PEERID', 'ADDR', 'CONNECTED', 'LATENCY', 'SINCE'])
    expect(table.find(l => l.startsWith('hidden '))?.split(/\s+/)[3]).toBe('relayed')
    expect(table.find(l => l.startsWith('relay '))?.split(/\s+/)[3]).toBe('direct')
  })

  it('dates a connection from when it opened, again after a reconnection', async () => {
    const first = await peerOf(relay, 'carol')
    expect(first.connected).toBe(true)
    const down = Date.now()
    expect((await carol.cli(['down'])).code).toBe(0)
    await until('relay to see carol gone', async () => (await peerOf(relay, 'carol')).connected === false)
    expect(await peerOf(relay, 'carol')).toMatchObject({ connection: null, addr: null, since: null })
    expect((await carol.up()).code).toBe(0)
    const again = await until('carol to reconnect to relay', async () => {
      const p = await peerOf(relay, 'carol')
      return p.connected === true ? p : undefined
    }, 30_000)
    expect(again.connection).toBe('direct')
    expect(Date.parse(again.since)).toBeGreaterThan(down)
    expect(Date.parse(again.since)).toBeGreaterThan(Date.parse(first.since))
  })
})
