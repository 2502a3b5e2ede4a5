import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NatTestbed } from '../helpers/nat-testbed.ts'
import { isAlive, run, until } from '../helpers/node.ts'
import { UdpAgent } from '../helpers/udp-agent.ts'

const DELAY_MS = 20
const toInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)
const inRange = (ip: string, cidr: string): boolean => {
  const [base, bits] = cidr.split('/')
  const size = 2 ** (32 - Number(bits))
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size)
}
const portOf = (addr: string): string => addr.split(':')[1]

describe.each(['private', 'public'] as const)('the NAT testbed with %s addressing', addressing => {
  let bed: NatTestbed
  const agents: UdpAgent[] = []
  const agent = async (site: string, port = 0): Promise<UdpAgent> => {
    const a = await UdpAgent.start(bed.ns(site), port)
    agents.push(a)
    return a
  }
  const at = (site: string, port: number): string => `${bed.addr(site)}:${port}`
  /** A socket on `site` and the address its NAT maps it to: one address, the same towards two hosts. */
  const coneMapped = async (site: string): Promise<[UdpAgent, string]> => {
    const a = await agent(site)
    const mapped = await a.mapping(at('relay', 7001))
    expect(mapped.split(':')[0]).toBe(bed.wanAddr(site))
    expect(await a.mapping(at('other', 7001))).toBe(mapped)
    return [a, mapped]
  }
  let stranger: UdpAgent
  let relay1: UdpAgent
  let relay2: UdpAgent

  beforeAll(async () => {
    bed = await NatTestbed.create({
      sites: [
        { name: 'relay', nat: 'none' },
        { name: 'other', nat: 'none' },
        { name: 'stranger', nat: 'none' },
        { name: 'prc1', nat: 'prc' },
        { name: 'prc2', nat: 'prc' },
        { name: 'full', nat: 'full' },
        { name: 'sym', nat: 'sym' }
      ],
      addressing,
      delayMs: DELAY_MS
    })
    // Reflectors: two ports on the relay, one on the other public host, and the stranger.
    relay1 = await agent('relay', 7001)
    relay2 = await agent('relay', 7002)
    await agent('other', 7001)
    stranger = await agent('stranger', 7001)
  })
  afterAll(async () => {
    for (const a of agents) await a.stop()
    await bed?.destroy()
  })

  it('puts the internet in the ranges of its plan and the hosts behind NATs on LANs', () => {
    const wans = ['relay', 'prc1', 'full', 'sym'].map(s => bed.wanAddr(s))
    if (addressing === 'public') {
      expect(bed.publicRanges).toEqual(['198.51.100.0/24', '203.0.113.0/24'])
      for (const w of wans) expect(bed.publicRanges.some(r => inRange(w, r))).toBe(true)
    } else {
      expect(bed.publicRanges).toEqual([])
      for (const w of wans) expect(inRange(w, '10.0.0.0/8')).toBe(true)
    }
    for (const s of ['prc1', 'full', 'sym']) expect(inRange(bed.addr(s), '192.168.0.0/16')).toBe(true)
    expect(bed.addr('relay')).toBe(bed.wanAddr('relay'))
  })

  it('shows a public host to the internet at its own address', async () => {
    const a = await agent('other')
    expect(await a.mapping(at('relay', 7001))).toBe(`${bed.addr('other')}:${a.port}`)
  })

  it('maps a port-restricted cone host to one address for all and lets in only those it sent to', async () => {
    const [a, mapped] = await coneMapped('prc1')
    // The stranger was never sent to, and the relay's other port neither: both are refused. The
    // delayer is one FIFO for every uplink, so both datagrams reach the NAT before the relay's
    // "marker" (whose port the host did send to): had either been let in, it would be there first.
    await stranger.send(mapped, 'unsolicited')
    await relay2.send(mapped, 'wrong port')
    await relay1.send(mapped, 'marker')
    await a.receive(at('relay', 7001), 'marker')
    expect(a.received.map(d => d.text)).not.toContain('unsolicited')
    expect(a.received.map(d => d.text)).not.toContain('wrong port')
    // The refused datagram left no conntrack entry behind: the mapping towards the stranger is the
    // same, and once the host has sent to it, the stranger's datagrams come in.
    await a.send(at('stranger', 7001), 'open')
    await stranger.receive(mapped, 'open')
    await stranger.send(mapped, 'solicited')
    await a.receive(at('stranger', 7001), 'solicited')
  })

  it('maps a full cone host to one address for all and lets anyone in', async () => {
    const [a, mapped] = await coneMapped('full')
    await stranger.send(mapped, 'unsolicited')
    await a.receive(at('stranger', 7001), 'unsolicited')
  })

  it('maps a symmetric host to another port for each destination', async () => {
    const a = await agent('sym')
    // --random-fully draws each port at random: two could match, about once in 64,000 runs.
    const toRelay = await a.mapping(at('relay', 7001))
    const toOther = await a.mapping(at('other', 7001))
    const toRelayPort2 = await a.mapping(at('relay', 7002))
    for (const m of [toRelay, toOther, toRelayPort2]) expect(m.split(':')[0]).toBe(bed.wanAddr('sym'))
    expect(portOf(toOther)).not.toBe(portOf(toRelay))
    expect(portOf(toRelayPort2)).not.toBe(portOf(toRelay))
  })

  it('lets two port-restricted cone hosts punch a hole to each other, whoever starts', async () => {
    for (const lead of ['none', 'prc1', 'prc2', 'none']) {
      const a = await agent('prc1')
      const b = await agent('prc2')
      const ma = await a.mapping(at('relay', 7001))
      const mb = await b.mapping(at('relay', 7001))
      // Both send every 50 ms; one of them may start 150 ms ahead, so that its first datagrams reach
      // the other NAT before that NAT has a mapping towards it, and are dropped there.
      let tick = 0
      const timer = setInterval(() => {
        tick++
        if (lead !== 'prc2' || tick > 3) void a.send(mb, 'punch')
        if (lead !== 'prc1' || tick > 3) void b.send(ma, 'punch')
      }, 50)
      try {
        await b.receive(ma, 'punch')
        await a.receive(mb, 'punch')
      } finally {
        clearInterval(timer)
      }
    }
  })

  it('delays every uplink: a round trip across two uplinks takes at least four delays', async () => {
    // A lower bound that the construction guarantees (each datagram is held DELAY_MS on the way into
    // inet and again on the way out, both ways), not a speed assertion.
    for (const site of ['other', 'prc1']) {
      const a = await agent(site)
      const reflector = at('relay', 7001)
      const replies = (): Array<{ t: number }> => a.received.filter(d => d.from === reflector)
      for (let i = 0; i < 3; i++) {
        const before = replies().length
        const sentAt = await a.send(reflector, '?')
        const reply = await until('the reflector\'s answer', () => replies()[before])
        expect(reply.t - sentAt).toBeGreaterThanOrEqual(4 * DELAY_MS)
      }
    }
  })
})

describe('a NAT testbed', () => {
  const small = async (): Promise<NatTestbed> => await NatTestbed.create({
    sites: [{ name: 'x', nat: 'none' }, { name: 'y', nat: 'prc' }],
    addressing: 'public',
    delayMs: 5
  })
  const namespacesOf = async (bed: NatTestbed): Promise<string[]> =>
    (await run('ip', ['netns', 'list'])).stdout.split('\n').filter(l => l.startsWith(`aur-${bed.id}-`))
  const pingsThrough = async (bed: NatTestbed): Promise<boolean> =>
    (await run('nsenter', [`--net=/run/netns/${bed.ns('y')}`, 'busybox', 'ping', '-c', '2', '-W', '1', bed.addr('x')])).code === 0

  it('leaves no namespace and no delayer behind', async () => {
    const bed = await small()
    const pid = bed.delayerPid!
    try {
      expect(await namespacesOf(bed)).toHaveLength(4)
      expect(isAlive(pid)).toBe(true)
      expect(await pingsThrough(bed)).toBe(true)
    } finally {
      await bed.destroy()
    }
    expect(await namespacesOf(bed)).toEqual([])
    expect(isAlive(pid)).toBe(false)
  })

  it('stops all traffic rather than the delay when its delayer dies, and says so at destroy', async () => {
    const bed = await small()
    try {
      expect(await pingsThrough(bed)).toBe(true)
      const pid = bed.delayerPid!
      process.kill(pid, 'SIGKILL')
      await until('the delayer gone', () => !isAlive(pid))
      expect(await pingsThrough(bed)).toBe(false)
    } finally {
      await expect(bed.destroy()).rejects.toThrow(/delay was gone: nfq-delay .* ended \(SIGKILL\)/)
    }
    expect(await namespacesOf(bed)).toEqual([])
  })
})
