import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NatTestbed } from '../helpers/nat-testbed.ts'
import { until, type TestNode } from '../helpers/node.ts'

// A node behind a NAT holds a slot on one public peer and wants one more. A second public node peers with it by its
// token, reaching it through the first one's relay. The node behind the NAT asks the new peer for a slot at once, but
// the new peer does not trust it yet (peering is not over on its side) and refuses. libp2p asks a relay only once per
// connection, and the connection stays; the node asks again itself, and gets its second slot.
describe('a node behind a NAT asks again for a slot a relay refused', () => {
  let bed: NatTestbed
  const nodes = new Map<string, TestNode>()
  const node = (n: string): TestNode => nodes.get(n) as TestNode
  const slots = async (n: string): Promise<string[]> => JSON.parse((await node(n).cli(['status', '--json'])).stdout).mesh.addrs.filter((a: string) => a.includes('/p2p-circuit'))
  const slotOn = async (n: string, relay: string): Promise<boolean> => (await slots(n)).some(a => a.startsWith(`/ip4/${bed.addr(relay)}/`))

  beforeAll(async () => {
    bed = await NatTestbed.create({ sites: [{ name: 'r1', nat: 'none' }, { name: 'r2', nat: 'none' }, { name: 'h1', nat: 'prc' }], addressing: 'public' })
    for (const n of ['r1', 'r2', 'h1']) nodes.set(n, await bed.startNode(n))
  }, 120_000)
  afterAll(async () => {
    for (const n of nodes.values()) await n.stop().catch(() => {})
    await bed?.destroy()
  }, 60_000)

  it('holds a slot on a second public peer that peers with it later, through its first', async () => {
    expect((await node('h1').cli(['proxy', (await node('r2').cli(['proxy'])).stdout.trim()])).code).toBe(0)
    await until('h1 to hold a slot on r2', async () => await slotOn('h1', 'r2') || undefined, 30_000)
    // h1's token names its addresses: its own network's, which r1 cannot reach, and its slot on r2.
    const token = await node('h1').cli(['proxy'])
    expect(token.stderr).not.toContain('warning')
    expect((await node('r1').cli(['proxy', token.stdout.trim()])).code).toBe(0)
    await until('h1 to go direct to r1', async () => JSON.parse((await node('h1').cli(['peers', '--json'])).stdout).find((p: any) => p.name === 'r1')?.connection === 'direct' || undefined, 30_000)
    await until('h1 to hold a slot on r1 as well', async () => await slotOn('h1', 'r1') || undefined, 60_000)
    expect(await slotOn('h1', 'r2')).toBe(true)
  }, 180_000)
})
