import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NatTestbed } from '../helpers/nat-testbed.ts'
import { run, until, type TestNode } from '../helpers/node.ts'

// Two public relays and two hosts behind port-restricted cone NATs (20 ms on every uplink). The hosts keep a slot on
// each relay and get it back when a relay restarts; they go direct over WebRTC, a call running on the relay when the
// direct path comes up finishes there, and when the direct path dies calls fall back to the relay, until the path
// is back and the two go direct again.
describe('a node behind a NAT keeps its relays and goes direct when it can', () => {
  let bed: NatTestbed
  const nodes = new Map<string, TestNode>()
  const node = (n: string): TestNode => nodes.get(n) as TestNode
  const status = async (n: string): Promise<any> => JSON.parse((await node(n).cli(['status', '--json'])).stdout)
  const path = async (from: string, to: string): Promise<string> => {
    const peers = JSON.parse((await node(from).cli(['peers', '--json'])).stdout)
    return peers.find((p: any) => p.name === to)?.connection ?? ''
  }
  const slots = async (n: string): Promise<string[]> => (await status(n)).mesh.addrs.filter((a: string) => a.includes('/p2p-circuit'))
  // Cuts (or mends) every UDP packet through a host's NAT router: no WebRTC, while TCP (and so the relay) still works.
  const udp = async (n: string, cut: boolean): Promise<void> => {
    const res = await run('nsenter', [`--net=/run/netns/${bed.routerNs(n)}`, 'iptables', cut ? '-I' : '-D', 'FORWARD', '-p', 'udp', '-j', 'DROP'])
    expect(res.code).toBe(0)
  }

  beforeAll(async () => {
    bed = await NatTestbed.create({ sites: [{ name: 'r1', nat: 'none' }, { name: 'r2', nat: 'none' }, { name: 'h1', nat: 'prc' }, { name: 'h2', nat: 'prc' }], addressing: 'public' })
    for (const n of ['r1', 'r2', 'h1', 'h2']) nodes.set(n, await bed.startNode(n))
    for (const r of ['r1', 'r2']) {
      const token = (await node(r).cli(['proxy', '--uses', '2'])).stdout.trim()
      for (const h of ['h1', 'h2']) expect((await node(h).cli(['proxy', token])).code).toBe(0)
    }
  }, 120_000)
  afterAll(async () => {
    for (const n of nodes.values()) await n.stop().catch(() => {})
    await bed?.destroy()
  }, 60_000)

  it('holds a slot on each of its two trusted public peers, and takes it again when a relay restarts', async () => {
    for (const h of ['h1', 'h2']) {
      await until(`${h} to be private with a slot on r1 and on r2`, async () => {
        const held = await slots(h)
        return (await status(h)).mesh.reachability === 'private' && ['r1', 'r2'].every(r => held.some(a => a.startsWith(`/ip4/${bed.addr(r)}/`))) ? true : undefined
      }, 30_000)
    }
    expect((await node('r1').cli(['down'])).code).toBe(0)
    await until('h1 to drop its slot on the stopped relay', async () => (await slots('h1')).every(a => !a.startsWith(`/ip4/${bed.addr('r1')}/`)) || undefined, 30_000)
    expect((await slots('h1')).some(a => a.startsWith(`/ip4/${bed.addr('r2')}/`))).toBe(true)
    // A token from a node behind a NAT with a slot is good anywhere: no warning.
    const good = await node('h1').cli(['proxy'])
    expect(good.code).toBe(0)
    expect(good.stderr).not.toContain('warning')
    // With no relay left, its token can only be used from its own network, and `proxy` says so.
    expect((await node('r2').cli(['down'])).code).toBe(0)
    await until('h1 to hold no slot at all', async () => (await slots('h1')).length === 0 || undefined, 30_000)
    const lanOnly = await node('h1').cli(['proxy'])
    expect(lanOnly.code).toBe(0)
    expect(lanOnly.stdout).toMatch(/^aurae1-/)
    expect(lanOnly.stderr).toContain('aurae: warning: this node is behind a NAT and holds no relay slot: the token works only from its own network')
    for (const r of ['r2', 'r1']) expect((await node(r).up()).code).toBe(0)
    await until('h1 to hold a slot on r1 again', async () => (await slots('h1')).some(a => a.startsWith(`/ip4/${bed.addr('r1')}/`)) || undefined, 90_000)
  }, 180_000)

  it('finishes a call that runs on the relay while the direct path comes up, and goes direct', async () => {
    await udp('h1', true)
    try {
      const token = (await node('h1').cli(['proxy'])).stdout.trim()
      expect((await node('h2').cli(['proxy', token])).code).toBe(0)
      expect(await path('h2', 'h1')).toBe('relayed')
      const long = node('h2').cli(['exec', '@h1', '--', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 1; done'])
      await until('the call to start', async () => JSON.parse((await node('h1').cli(['ps', '--json'])).stdout).some((w: any) => w.state === 'running') || undefined)
      await udp('h1', false)
      await until('h1 and h2 to go direct', async () => (await path('h2', 'h1')) === 'direct' || undefined, 30_000)
      expect(await long).toMatchObject({ code: 0, stdout: '1\n2\n3\n4\n5\n6\n7\n8\n' })
    } finally {
      await udp('h1', false).catch(() => {})
    }
  }, 90_000)

  it('streams a call\'s output over WebRTC to a reader that stops for a while, losing nothing', async () => {
    await until('h1 and h2 to be direct', async () => (await path('h2', 'h1')) === 'direct' || undefined, 30_000)
    const SIZE = 16 * 1024 * 1024
    const child = node('h2').spawnCli(['exec', '@h1', '--', 'head', '-c', String(SIZE), '/dev/zero'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let bytes = 0
    let stderr = ''
    child.stderr?.on('data', d => { stderr += String(d) })
    // A data channel cannot stop its sender; without the call's own window the paused stream overflowed and the
    // call failed ("Read buffer length … exceeded").
    child.stdout?.pause()
    await sleep(3000)
    child.stdout?.on('data', d => { bytes += d.length })
    child.stdout?.resume()
    const code = await new Promise(resolve => child.on('exit', resolve))
    expect({ code, bytes, stderr }).toEqual({ code: 0, bytes: SIZE, stderr: '' })
  }, 90_000)

  it('falls back to the relay when the direct path dies, and goes direct again once it is back', async () => {
    await until('h1 and h2 to be direct', async () => (await path('h2', 'h1')) === 'direct' || undefined, 30_000)
    await udp('h1', true)
    try {
      for (let i = 0; i < 3; i++) expect(await node('h2').cli(['exec', '@h1', '--', 'echo', 'still here'])).toMatchObject({ code: 0, stdout: 'still here\n' })
      await until('the dead direct path to be noticed', async () => (await path('h2', 'h1')) === 'relayed' || undefined, 30_000)
    } finally {
      await udp('h1', false)
    }
    await until('h1 and h2 to go direct again', async () => (await path('h2', 'h1')) === 'direct' || undefined, 60_000)
    expect(await node('h1').cli(['exec', '@h2', '--', 'echo', 'direct'])).toMatchObject({ code: 0, stdout: 'direct\n' })
  }, 150_000)

  it('tries again at once and from scratch when its own network changes, starting ICE itself', async () => {
    // The side with the larger PeerId never starts ICE on its own: after its network changes it does, since the
    // other side knows nothing of the change.
    const ids = Object.fromEntries(await Promise.all(['h1', 'h2'].map(async h => [h, (await status(h)).peerId])))
    const [starter, other] = ids.h1 < ids.h2 ? ['h1', 'h2'] : ['h2', 'h1']
    await until(`${other} to be direct to ${starter}`, async () => (await path(other, starter)) === 'direct' || undefined, 30_000)
    const attempts = (): any[] => readFileSync(join(node(other).data, 'auraed.log'), 'utf8').split('\n').filter(l => l.startsWith('{'))
      .map(l => JSON.parse(l)).filter(e => e.peerId === ids[starter] && /^(no )?direct (path|connection) to a peer/.test(e.msg))
    await udp(starter, true)
    try {
      await until('the direct path to die', async () => (await path(other, starter)) === 'relayed' || undefined, 30_000)
      // Attempts back off, each counted; they fail while UDP is cut.
      const before = attempts().length
      await until(`${other} to fail twice`, async () => attempts().length >= before + 2 || undefined, 60_000)
      expect(attempts().slice(before).every(e => e.msg === 'no direct path to a peer yet' && e.lead === false)).toBe(true)
      const lan = bed.addr(other).replace(/\.\d+$/, '.77')
      expect((await run('nsenter', [`--net=/run/netns/${bed.ns(other)}`, 'ip', 'addr', 'add', `${lan}/24`, 'dev', 'eth0'])).code).toBe(0)
      const changedAt = attempts().length
      // The next attempt is a fresh one (its count starts again) and starts ICE itself, though UDP is still cut.
      await until(`${other} to try again after the change`, async () => attempts().slice(changedAt).find(e => e.tries === 1), 45_000)
      expect(attempts().slice(changedAt).find(e => e.tries === 1)).toMatchObject({ msg: 'no direct path to a peer yet', lead: true })
    } finally {
      await udp(starter, false)
    }
    await until(`${other} and ${starter} to go direct again`, async () => (await path(other, starter)) === 'direct' || undefined, 60_000)
    expect(await node(other).cli(['exec', `@${starter}`, '--', 'echo', 'direct'])).toMatchObject({ code: 0, stdout: 'direct\n' })
  }, 180_000)
})
