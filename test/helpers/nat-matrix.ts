// Nodes in a NAT testbed: a public relay, and two hosts of each NAT kind, each running auraed and peered with
// the relay. Pairs are then peered with a token and looked at: connected, direct or relayed.
import { MESH_PORT, NatTestbed, type NatKind } from './nat-testbed.ts'
import { until, type TestNode } from './node.ts'

export const KINDS: NatKind[] = ['none', 'full', 'prc', 'sym']

/** Every pair of kinds once, a kind with itself included: 10 pairs, each of two different hosts. */
export function kindPairs (): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  KINDS.forEach((a, i) => KINDS.slice(i).forEach(b => pairs.push([`${a}1`, a === b ? `${b}2` : `${b}1`])))
  return pairs
}

/** What the NAT kinds of a pair allow: a direct path when one side is public or both are cones. */
export function canGoDirect (a: string, b: string): boolean {
  const kinds = [a, b].map(kindOf)
  return kinds.includes('none') || kinds.every(k => k === 'full' || k === 'prc')
}

export function kindOf (host: string): NatKind {
  return host.replace(/\d+$/, '') as NatKind
}

export class NatMatrix {
  readonly nodes = new Map<string, TestNode>()

  readonly bed: NatTestbed

  // A plain field, not a parameter property: bench/ imports this file with Node's own type stripping.
  private constructor (bed: NatTestbed) {
    this.bed = bed
  }

  /** The testbed, a relay, and two hosts of each kind (or the hosts named, as `sym1`), all peered with the relay. */
  static async create (addressing: 'private' | 'public', delayMs = 20, hosts = KINDS.flatMap(k => [`${k}1`, `${k}2`])): Promise<NatMatrix> {
    const bed = await NatTestbed.create({ sites: [{ name: 'relay', nat: 'none' }, ...hosts.map(name => ({ name, nat: kindOf(name) }))], addressing, delayMs })
    const matrix = new NatMatrix(bed)
    try {
      const relay = await matrix.start('relay', [])
      const relayId = await peerIdOf(relay)
      const relayAddr = `/ip4/${bed.addr('relay')}/tcp/${MESH_PORT}/p2p/${relayId}`
      await Promise.all(hosts.map(async h => await matrix.start(h, ['--bootstrap', relayAddr])))
      const token = (await relay.cli(['proxy', '--uses', String(hosts.length)])).stdout.trim()
      for (const h of hosts) {
        const res = await matrix.node(h).cli(['proxy', token])
        if (res.code !== 0) throw new Error(`${h} could not peer with the relay: ${res.stderr}`)
      }
    } catch (err) {
      await matrix.destroy()
      throw err
    }
    return matrix
  }

  node (name: string): TestNode {
    const n = this.nodes.get(name)
    if (n === undefined) throw new Error(`no node ${name}`)
    return n
  }

  /** A token of a's that others can use: a node that trusted peers cannot dial hands one out once it holds a relay slot. */
  async token (a: string): Promise<string> {
    await until(`${a} to hold a relay slot unless it can be dialled`, async () => {
      const mesh = JSON.parse((await this.node(a).cli(['status', '--json'])).stdout).mesh
      return mesh.reachability === 'public' || (mesh.reachability === 'private' && mesh.addrs.some((x: string) => x.includes('/p2p-circuit'))) || undefined
    }, 30_000)
    const res = await this.node(a).cli(['proxy'])
    if (res.code !== 0) throw new Error(`${a} gave no token: ${res.stderr}`)
    return res.stdout.trim()
  }

  /** Peers b with a through a token of a's; resolves once both trust each other. */
  async peer (a: string, b: string): Promise<void> {
    const res = await this.node(b).cli(['proxy', await this.token(a)])
    if (res.code !== 0) throw new Error(`${b} could not peer with ${a}: ${res.stderr}`)
  }

  /** How `a` is connected to `b` now, as `aurae peers --json` on `a` says. */
  async path (a: string, b: string): Promise<'direct' | 'relayed' | 'none'> {
    const peers = JSON.parse((await this.node(a).cli(['peers', '--json'])).stdout) as Array<{ name: string, connected: boolean, connection: string }>
    const p = peers.find(x => x.name === b)
    if (p === undefined || !p.connected) return 'none'
    return p.connection === 'direct' ? 'direct' : 'relayed'
  }

  async destroy (): Promise<void> {
    await Promise.all([...this.nodes.values()].map(async n => await n.stop().catch(() => {})))
    await this.bed.destroy()
  }

  private async start (name: string, extra: string[]): Promise<TestNode> {
    const node = await this.bed.startNode(name, extra)
    this.nodes.set(name, node)
    return node
  }
}

async function peerIdOf (node: TestNode): Promise<string> {
  return JSON.parse((await node.cli(['status', '--json'])).stdout).peerId
}
