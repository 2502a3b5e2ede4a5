import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestNet } from '../helpers/netns.ts'
import { startNode, until, type TestNode } from '../helpers/node.ts'

describe('names resolve through the private DHT', () => {
  let net: TestNet
  const nodes: TestNode[] = []
  let emily: TestNode
  let alice: TestNode
  let carol: TestNode
  const peerId = async (n: TestNode): Promise<string> => JSON.parse((await n.cli(['status', '--json'])).stdout).peerId
  const on = (host: string, bootstrap?: string): string[] => [
    '--listen', `/ip4/${net.addr(host)}/tcp/4810`,
    ...(bootstrap === undefined ? [] : ['--bootstrap', `/ip4/${net.addr(bootstrap)}/tcp/4810`])
  ]
  const start = async (name: string, host: string, bootstrap?: string): Promise<TestNode> => {
    const n = await startNode(name, on(host, bootstrap), net.ns(host))
    nodes.push(n)
    return n
  }
  beforeAll(async () => {
    net = TestNet.create(['emily', 'alice', 'carol', 'mallory'])
    emily = await start('emily@example.org', 'emily')
    alice = await start('alice@example.org', 'alice', 'emily')
    carol = await start('carol@example.org', 'carol', 'emily')
  })
  afterAll(async () => {
    for (const n of nodes) await n.stop()
    net?.destroy()
  })

  it('finds a third node by name, with the PeerId its key gives and its address', async () => {
    const carolId = await peerId(carol)
    const res = await until('carol to be resolvable', async () => {
      const r = await alice.cli(['resolve', 'carol@example.org', '--json'])
      return r.code === 0 ? r : undefined
    })
    const record = JSON.parse(res.stdout)
    expect(record).toMatchObject({ name: 'carol', domain: 'example.org', peerId: carolId })
    expect(record.addrs.some((a: string) => a.includes(net.addr('carol')))).toBe(true)
    // The caller's own domain is meant when none is given.
    expect((await alice.cli(['resolve', 'carol'])).stdout.split('\n')[0]).toBe(carolId)
  })

  it('says so when nobody has the name', async () => {
    const res = await alice.cli(['resolve', 'nobody@example.org'])
    expect(res.code).toBe(1)
    expect(res.stderr.trim()).toBe('aurae: no node named nobody@example.org on the mesh')
  })

  it('keeps a name pinned to the key it was peered with', async () => {
    const carolId = await peerId(carol)
    const token = (await carol.cli(['proxy'])).stdout.trim()
    expect((await alice.cli(['proxy', token])).code).toBe(0)
    // Another key now claims carol@example.org and publishes it.
    const mallory = await start('carol@example.org', 'mallory', 'emily')
    const malloryId = await peerId(mallory)
    // emily saw carol's key first: she keeps it, and says who else claims the name once mallory's record reaches her.
    await until('emily to report mallory\'s claim', async () => {
      const r = await emily.cli(['resolve', 'carol@example.org', '--json'])
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ peerId: carolId, pinned: false })
      return JSON.parse(r.stdout).alsoClaimedBy.includes(malloryId)
    })
    // alice peered with carol: the name is pinned to carol's key, whatever else claims it.
    const res = await alice.cli(['resolve', 'carol@example.org', '--json'])
    expect(res.code).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ peerId: carolId, pinned: true })
  })
})
