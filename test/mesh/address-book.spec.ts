import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { AddressBook, MAX_CANDIDATES, VERDICT_TTL_MS } from '../../src/mesh/address-book.ts'
import { isBridge } from '../../src/mesh/addresses.ts'

const SELF = '12D3KooWGRUVh4uC7QwqJjG9Q1ZJk8ygLZc8kPSkVJ2gdoH5ExJK'
const RELAY = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const ma = (s: string): ReturnType<typeof multiaddr> => multiaddr(s)
const texts = (list: Array<ReturnType<typeof multiaddr>>): string[] => list.map(a => a.toString())

/** A book for a machine with these interfaces, trusting peers `a` and `b`, on a clock the test moves. */
function book (ifaces: Record<string, string> = {}, trusted = new Set(['a', 'b'])): { book: AddressBook, clock: { now: number } } {
  const clock = { now: 1_000_000 }
  return { book: new AddressBook({ trusts: p => trusted.has(p), interfaces: () => new Map(Object.entries(ifaces)), now: () => clock.now }), clock }
}

describe('what a node announces', () => {
  afterEach(() => { delete process.env.AURAE_TEST_PUBLIC_RANGES })

  it('keeps LAN addresses, drops container bridges, link-local and loopback beside others', () => {
    const { book: b } = book({ '192.168.1.5': 'eth0', '10.89.7.1': 'aur0123abcd', '172.17.0.1': 'docker0', '127.0.0.1': 'lo', '169.254.3.3': 'eth1' })
    const addrs = ['/ip4/192.168.1.5/tcp/4710', '/ip4/10.89.7.1/tcp/4710', '/ip4/172.17.0.1/tcp/4710', '/ip4/127.0.0.1/tcp/4710', '/ip4/169.254.3.3/tcp/4710']
    expect(texts(b.announce(addrs.map(a => ma(`${a}/p2p/${SELF}`))))).toEqual([`/ip4/192.168.1.5/tcp/4710/p2p/${SELF}`])
  })

  it('keeps only relay addresses once the node listens through a relay: its LAN address is dialled in vain from outside', () => {
    const { book: b } = book({ '192.168.1.5': 'eth0', '10.89.7.1': 'aur0123abcd' })
    const addrs = ['/ip4/192.168.1.5/tcp/4710', '/ip4/10.89.7.1/tcp/4710', `/ip4/203.0.113.1/tcp/4710/p2p/${RELAY}/p2p-circuit`]
    expect(texts(b.announce(addrs.map(a => ma(`${a}/p2p/${SELF}`))))).toEqual([`/ip4/203.0.113.1/tcp/4710/p2p/${RELAY}/p2p-circuit/p2p/${SELF}`])
  })

  it('keeps loopback when the node has nothing else (a mesh on one machine)', () => {
    const { book: b } = book({ '127.0.0.1': 'lo' })
    expect(texts(b.announce([ma('/ip4/127.0.0.1/tcp/4710')]))).toEqual(['/ip4/127.0.0.1/tcp/4710'])
  })

  it('announces a public interface address until a dial-back refutes it, and again once one confirms it', () => {
    const { book: b } = book({ '203.0.113.5': 'eth0' })
    const addr = ma('/ip4/203.0.113.5/tcp/4710')
    expect(b.announce([addr])).toHaveLength(1)
    b.record('a', [{ addr: '/ip4/203.0.113.5/tcp/4710', reached: false }])
    expect(b.announce([addr])).toHaveLength(0)
    b.record('b', [{ addr: '/ip4/203.0.113.5/tcp/4710', reached: true }])
    expect(b.announce([addr])).toHaveLength(1)
  })

  it('announces an address only peers saw (a NAT\'s) once a dial-back reached it', () => {
    const { book: b } = book({ '192.168.1.5': 'eth0' })
    const nat = ma('/ip4/198.51.100.7/tcp/4710')
    expect(b.announce([nat])).toHaveLength(0)
    b.record('a', [{ addr: '/ip4/198.51.100.7/tcp/4710', reached: false }])
    expect(b.announce([nat])).toHaveLength(0)
    b.record('a', [{ addr: '/ip4/198.51.100.7/tcp/4710', reached: true }])
    expect(b.announce([nat])).toHaveLength(1)
    expect(b.confirmedElsewhere()).toEqual(['/ip4/198.51.100.7/tcp/4710'])
  })

  it('leaves addresses dial-backs do not check (UDP) to libp2p\'s own verification, unless refuted', () => {
    const { book: b } = book({ '192.168.1.5': 'eth0' })
    const udp = ma('/ip4/198.51.100.7/udp/4710/quic-v1')
    expect(b.announce([udp])).toHaveLength(1)
    b.record('a', [{ addr: '/ip4/198.51.100.7/udp/4710/quic-v1', reached: false }])
    expect(b.announce([udp])).toHaveLength(0)
  })

  it('treats the test-only public ranges as public addresses, through the same rules', () => {
    process.env.AURAE_TEST_PUBLIC_RANGES = '10.213.0.0/24'
    const { book: b } = book({ '10.213.0.1': 'eth0' })
    b.record('a', [{ addr: '/ip4/10.213.0.1/tcp/4810', reached: false }])
    expect(b.announce([ma('/ip4/10.213.0.1/tcp/4810')])).toHaveLength(0)
    expect(b.reachability([], [])).toBe('private')
  })

  it('knows the bridges of container engines and of aurae itself, and not ordinary interfaces', () => {
    expect(['aur0123abcd', 'docker0', 'cni0', 'cni-podman0', 'podman1', 'virbr0', 'lxcbr0', 'br-1a2b3c4d5e6f'].every(isBridge)).toBe(true)
    expect(['eth0', 'br0', 'wlan0', 'enp3s0', 'aurora', 'lo'].some(isBridge)).toBe(false)
  })
})

describe('what status says', () => {
  it('is unknown until a trusted peer answers, private through a relay', () => {
    const { book: b } = book()
    expect(b.reachability([], [])).toBe('unknown')
    expect(b.reachability([ma(`/ip4/203.0.113.1/tcp/4710/p2p/${RELAY}/p2p-circuit`)], [])).toBe('private')
  })

  it('is private when the node listens only where no other machine could dial it', () => {
    const { book: b } = book({ '127.0.0.1': 'lo', '10.89.7.1': 'aur0123abcd', '192.168.1.5': 'eth0' })
    expect(b.reachability([], [ma('/ip4/127.0.0.1/tcp/4710'), ma('/ip4/10.89.7.1/tcp/4710')])).toBe('private')
    expect(b.reachability([], [ma('/ip4/127.0.0.1/tcp/4710'), ma('/ip4/192.168.1.5/tcp/4710')])).toBe('unknown')
  })

  it('is public once a trusted peer reached a public address, even where another could not', () => {
    const { book: b } = book()
    b.record('a', [{ addr: '/ip4/203.0.113.5/tcp/4710', reached: false }])
    expect(b.reachability([], [])).toBe('private')
    b.record('b', [{ addr: '/ip4/203.0.113.5/tcp/4710', reached: true }])
    expect(b.reachability([], [])).toBe('public')
  })

  it('stays private when only peers on its own network reached it, at private addresses', () => {
    const { book: b } = book()
    b.record('a', [{ addr: '/ip4/192.168.1.5/tcp/4710', reached: true }], false)
    expect(b.reachability([], [])).toBe('private')
    expect(b.dialableFromOutside()).toBeUndefined()
  })

  it('says public when a peer from outside its networks reached a private address (a mesh on private ranges)', () => {
    const { book: b } = book()
    b.record('a', [{ addr: '/ip4/10.213.0.10/tcp/4710', reached: true }], true)
    expect(b.reachability([], [])).toBe('public')
    expect(b.dialableFromOutside()).toBe(true)
  })

  it('is not dialable from outside once outside peers tried and none reached it', () => {
    const { book: b } = book()
    b.record('a', [{ addr: '/ip4/192.168.1.5/tcp/4710', reached: true }], false)
    b.record('b', [{ addr: '/ip4/198.51.100.22/tcp/4710', reached: false }], true)
    expect(b.dialableFromOutside()).toBe(false)
  })

  it('counts only peers trusted now, and only answers younger than the TTL', () => {
    const trusted = new Set(['a'])
    const { book: b, clock } = book({}, trusted)
    b.record('a', [{ addr: '/ip4/203.0.113.5/tcp/4710', reached: true }])
    b.record('mallory', [{ addr: '/ip4/198.51.100.1/tcp/4710', reached: true }])
    expect(b.verdict('/ip4/198.51.100.1/tcp/4710')).toBe('unchecked')
    expect(b.reachability([], [])).toBe('public')
    trusted.delete('a')
    expect(b.reachability([], [])).toBe('unknown')
    trusted.add('a')
    clock.now += VERDICT_TTL_MS + 1
    expect(b.verdict('/ip4/203.0.113.5/tcp/4710')).toBe('unchecked')
  })
})

describe('what a node asks a peer to dial', () => {
  it('names its TCP listen addresses on real interfaces and the IP the peer saw it at with each listen port, that IP first', () => {
    const { book: b } = book({ '192.168.1.5': 'eth0', '10.89.7.1': 'aur0123abcd', '127.0.0.1': 'lo' })
    b.observe('a', ma('/ip4/198.51.100.7/tcp/53211'))
    const listen = ['/ip4/192.168.1.5/tcp/4710', '/ip4/10.89.7.1/tcp/4710', '/ip4/127.0.0.1/tcp/4710', '/ip4/169.254.1.1/tcp/4710', `/ip4/198.51.100.1/tcp/4710/p2p/${RELAY}/p2p-circuit`, '/ip4/192.168.1.5/udp/4710/quic-v1'].map(ma)
    expect(b.candidates(listen, 'a')).toEqual(['/ip4/198.51.100.7/tcp/4710', '/ip4/192.168.1.5/tcp/4710'])
    expect(b.candidates(listen, 'b')).toEqual(['/ip4/192.168.1.5/tcp/4710'])
  })

  it('asks about a bounded number, deduplicated', () => {
    const { book: b } = book()
    const listen = Array.from({ length: 20 }, (_, i) => ma(`/ip4/203.0.113.${i % 10}/tcp/4710`))
    const asked = b.candidates(listen, 'a')
    expect(asked.length).toBe(Math.min(MAX_CANDIDATES, 10))
    expect(new Set(asked).size).toBe(asked.length)
  })

  it('reports where trusted peers saw it, and no one else\'s word', () => {
    const { book: b } = book()
    b.observe('a', ma('/ip4/198.51.100.7/tcp/53211'))
    b.observe('mallory', ma('/ip4/6.6.6.6/tcp/1'))
    expect(b.observedAddrs()).toEqual(['/ip4/198.51.100.7/tcp/53211'])
  })
})
