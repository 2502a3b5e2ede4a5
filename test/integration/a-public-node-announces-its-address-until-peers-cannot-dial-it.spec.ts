import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Token, TokenBody } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { TestNet } from '../helpers/netns.ts'
import { startNode, until, type TestNode } from '../helpers/node.ts'

// Public addresses as the internet has them, with no test setting: 3fff::/20 is IPv6's documentation prefix
// (RFC 9637), which libp2p and aurae both count as public. Each host gets one on its cable to the switch.
const V6 = { pub: '3fff::1', other: '3fff::2', walled: '3fff::3' }

describe('a public node announces its address until its peers cannot dial it', () => {
  let net: TestNet
  const nodes: TestNode[] = []
  let other: TestNode
  const status = async (n: TestNode): Promise<any> => JSON.parse((await n.cli(['status', '--json'])).stdout)
  const inNs = (host: string, ...args: string[]): string => execFileSync('ip', ['netns', 'exec', net.ns(host), ...args], { encoding: 'utf8' })
  const listen = (host: keyof typeof V6): string => `/ip6/${V6[host]}/tcp/4810`
  const start = async (host: keyof typeof V6): Promise<TestNode> => {
    const n = await startNode(host, ['--listen', listen(host)], net.ns(host))
    nodes.push(n)
    return n
  }
  const announced = async (n: TestNode): Promise<string[]> => (await status(n)).mesh.addrs

  beforeAll(() => {
    delete process.env.AURAE_TEST_PUBLIC_RANGES
    net = TestNet.create(['pub', 'other', 'walled'])
    for (const host of ['pub', 'other', 'walled'] as const) inNs(host, 'ip', 'addr', 'add', `${V6[host]}/64`, 'dev', 'eth0', 'nodad')
    // walled has a public address but a firewall that lets no connection in: it can dial out, no one can dial it.
    inNs('walled', 'ip6tables', '-A', 'INPUT', '-p', 'tcp', '--dport', '4810', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP')
  })
  afterAll(async () => {
    for (const n of nodes) await n.stop()
    net?.destroy()
  })

  it('issues its first token with its public address before any peer has confirmed it, and says public once one did', async () => {
    const pub = await start('pub')
    const own = await until('pub to announce its address', async () => (await announced(pub)).find(a => a.startsWith(`${listen('pub')}/p2p/`)))
    expect((await status(pub)).mesh.reachability).toBe('unknown')
    const issued = await pub.cli(['proxy'])
    expect(issued.code).toBe(0)
    expect(TokenBody.decode(Token.decode(Buffer.from(issued.stdout.trim().slice('aurae1-'.length), 'base64url')).body).addrs).toContain(own)
    other = await start('other')
    expect((await other.cli(['proxy', issued.stdout.trim()])).code).toBe(0)
    await until('pub to learn it is public', async () => (await status(pub)).mesh.reachability === 'public')
    await until('other to learn it is public', async () => (await status(other)).mesh.reachability === 'public')
    expect(await announced(pub)).toContain(own)
  })

  it('stops announcing a public address its trusted peers could not dial back, and says private', async () => {
    const walled = await start('walled')
    await until('walled to announce its address', async () => (await announced(walled)).some(a => a.startsWith(listen('walled'))))
    // walled dials out to other; other's dial-back to walled's address meets the firewall.
    expect((await walled.cli(['proxy', (await other.cli(['proxy'])).stdout.trim()])).code).toBe(0)
    await until('walled to learn it is private', async () => (await status(walled)).mesh.reachability === 'private', 30_000)
    expect(await announced(walled)).toEqual([])
    const refused = await walled.cli(['proxy'])
    expect(refused).toMatchObject({ code: 1, stderr: 'aurae: the mesh has no addresses to put in a token\n' })
  })
})
