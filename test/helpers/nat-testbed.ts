// A small internet in network namespaces: an `inet` router, and sites on point-to-point uplinks to
// it, each a public host or a host behind a NAT router of a common kind, with a delay on every
// uplink. Every name starts with `aur-<id>-`; destroy() removes everything, also after a partial create.
import { randomBytes } from 'node:crypto'
import { Delayer } from './nfq-delay.ts'
import { run, startNode, type TestNode } from './node.ts'

/** The port every site's auraed listens on. */
export const MESH_PORT = 4810

/** none: a public host; full: full cone; prc: port-restricted cone; sym: symmetric. */
export type NatKind = 'none' | 'full' | 'prc' | 'sym'

export interface TestbedOptions {
  sites: Array<{ name: string, nat: NatKind }>
  /** private: the internet is in ranges libp2p counts as private; public: in TEST-NET ranges. */
  addressing: 'private' | 'public'
  /** One-way delay of each uplink, in each direction (default 20; 0 is no delay and no delayer). */
  delayMs?: number
}

interface Site { ns: string, addr: string, wan: string }

// Each site's uplink is a /30 from these blocks, 64 to a block: inet holds .1, the site .2.
const BLOCKS = { private: ['10.213.0.0', '10.213.1.0'], public: ['198.51.100.0', '203.0.113.0'] }
const QUEUE = 0

export class NatTestbed {
  readonly id = randomBytes(3).toString('hex')
  /** The internet's ranges when they are to count as public (the public plan), else none. */
  readonly publicRanges: string[]
  private readonly sites = new Map<string, Site>()
  private readonly namespaces: string[] = []
  private delayer: Delayer | undefined

  private constructor (addressing: 'private' | 'public') {
    this.publicRanges = addressing === 'public' ? BLOCKS.public.map(b => `${b}/24`) : []
  }

  /** Builds the internet, its sites and the delayer; ready for traffic when it resolves. */
  static async create (opts: TestbedOptions): Promise<NatTestbed> {
    const bed = new NatTestbed(opts.addressing)
    try {
      await bed.build(opts)
    } catch (err) {
      await bed.destroy().catch(() => {})
      throw err
    }
    return bed
  }

  /** The namespace of the site's host, to start a daemon in with `nsenter --net=/run/netns/<ns>`. */
  ns (name: string): string {
    return this.site(name).ns
  }

  /** The host's own address (on its LAN when it is behind a NAT). */
  addr (name: string): string {
    return this.site(name).addr
  }

  /** The site's address on the internet: its router's WAN address, or the host's own when it is public. */
  wanAddr (name: string): string {
    return this.site(name).wan
  }

  /** The namespace of the site's NAT router (to cut or mend what it lets through); the host's own when it is public. */
  routerNs (name: string): string {
    const site = this.site(name)
    return site.addr === site.wan ? site.ns : `${site.ns}-gw`
  }

  /** Starts auraed at site `name`, in its namespace, on MESH_PORT; with public addressing, the plan's ranges count
   * as public for it (the daemon's test-only setting). */
  async startNode (name: string, extra: string[] = []): Promise<TestNode> {
    const env = this.publicRanges.length > 0 ? { AURAE_TEST_PUBLIC_RANGES: this.publicRanges.join(',') } : {}
    return await withEnv(env, async () => await startNode(name, ['--listen', `/ip4/0.0.0.0/tcp/${MESH_PORT}`, ...extra], this.ns(name)))
  }

  /** The PID of the delayer, which holds every packet in and out of an uplink. */
  get delayerPid (): number | undefined {
    return this.delayer?.pid
  }

  /** Ends the delayer and removes every namespace; rejects afterwards if the delayer had died on its own. */
  async destroy (): Promise<void> {
    await this.delayer?.stop()
    if (this.namespaces.length > 0) await run('ip', ['-force', '-batch', '-'], { input: this.namespaces.map(ns => `netns del ${ns}\n`).join('') })
    if (this.delayer?.died !== undefined) throw new Error(`the testbed's delay was gone: ${this.delayer.died}`)
  }

  private async build ({ sites, addressing, delayMs = 20 }: TestbedOptions): Promise<void> {
    const inet = `aur-${this.id}-inet`
    const links: string[] = []
    const configs = new Map<string, { ip: string[], forward?: boolean, rules?: string }>([[inet, {
      ip: [],
      forward: true,
      rules: inetRules(delayMs > 0)
    }]])
    sites.forEach(({ name, nat }, i) => {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || name === 'inet' || this.sites.has(name)) throw new Error(`bad or repeated site name ${name}`)
      const n = i + 1
      const block = BLOCKS[addressing][Math.floor(i / 64)]
      if (block === undefined) throw new Error('too many sites')
      const [a, b, c] = block.split('.')
      const gw = `${a}.${b}.${c}.${(i % 64) * 4 + 1}`
      const wan = `${a}.${b}.${c}.${(i % 64) * 4 + 2}`
      const ns = `aur-${this.id}-${name}`
      configs.get(inet)?.ip.push(`addr add ${gw}/30 dev up${n}`, `link set up${n} up`)
      if (nat === 'none') {
        links.push(`link add eth0 netns ${ns} type veth peer name up${n} netns ${inet}`)
        configs.set(ns, { ip: [`addr add ${wan}/30 dev eth0`, 'link set eth0 up', `route add default via ${gw}`] })
        this.sites.set(name, { ns, addr: wan, wan })
        return
      }
      const router = `${ns}-gw`
      const addr = `192.168.${n}.2`
      links.push(
        `link add wan0 netns ${router} type veth peer name up${n} netns ${inet}`,
        `link add eth0 netns ${ns} type veth peer name lan0 netns ${router}`
      )
      configs.set(router, {
        ip: [`addr add ${wan}/30 dev wan0`, 'link set wan0 up', `addr add 192.168.${n}.1/24 dev lan0`, 'link set lan0 up', `route add default via ${gw}`],
        forward: true,
        rules: routerRules(nat, wan, addr)
      })
      configs.set(ns, { ip: [`addr add ${addr}/24 dev eth0`, 'link set eth0 up', `route add default via 192.168.${n}.1`] })
      this.sites.set(name, { ns, addr, wan })
    })
    this.namespaces.push(...configs.keys())
    await sh('ip', ['-batch', '-'], [...this.namespaces.map(ns => `netns add ${ns}`), ...links].join('\n') + '\n')
    await Promise.all([...configs].map(async ([ns, { ip, forward, rules }]) => {
      const script = [
        `ip -batch - <<'EOF'\nlink set lo up\n${ip.join('\n')}\nEOF`,
        forward === true ? 'echo 1 > /proc/sys/net/ipv4/ip_forward' : '',
        rules !== undefined ? `iptables-restore <<'EOF'\n${rules}EOF` : ''
      ].join('\n')
      await sh('nsenter', [`--net=/run/netns/${ns}`, 'sh', '-ec', script])
    }))
    // No delay at all (a throughput benchmark) means no queue: every packet would otherwise make a trip through the delayer.
    if (delayMs > 0) this.delayer = await Delayer.start(inet, QUEUE, delayMs)
  }

  private site (name: string): Site {
    const s = this.sites.get(name)
    if (s === undefined) throw new Error(`no testbed site ${name}`)
    return s
  }
}

/**
 * inet routes and delays, and nothing else: no conntrack (so it adds no NAT behaviour of its own),
 * and every packet that comes in from an uplink or goes out into one is held by the delayer.
 * Without --queue-bypass, a packet is dropped while no delayer listens: a delay never silently goes.
 */
function inetRules (delayed: boolean): string {
  return [
    '*raw', '-A PREROUTING -j CT --notrack', '-A OUTPUT -j CT --notrack', 'COMMIT',
    ...(delayed ? ['*mangle', `-A PREROUTING -i up+ -j NFQUEUE --queue-num ${QUEUE}`, `-A POSTROUTING -o up+ -j NFQUEUE --queue-num ${QUEUE}`, 'COMMIT'] : []), ''
  ].join('\n')
}

/**
 * A home router: the NAT of its kind, and the WAN firewall. The DROP of NEW packets in INPUT matters:
 * it drops an unsolicited inbound packet before its conntrack entry is confirmed, so the entry
 * never exists. Otherwise a stranger's (or a punching peer's early) packet to the mapped port would
 * leave an entry whose tuple clashes with the host's later outbound packet to that sender, the NAT
 * would give that flow another port, and the mapping a peer learned would be wrong.
 */
function routerRules (nat: Exclude<NatKind, 'none'>, wan: string, host: string): string {
  const natRules = {
    // Full cone: a fixed source address keeps the host's port, and every inbound packet goes to the host.
    full: [`-A POSTROUTING -o wan0 -j SNAT --to-source ${wan}`, `-A PREROUTING -i wan0 -j DNAT --to-destination ${host}`],
    prc: ['-A POSTROUTING -o wan0 -j MASQUERADE'],
    sym: ['-A POSTROUTING -o wan0 -j MASQUERADE --random-fully']
  }[nat]
  return [
    '*nat', ...natRules, 'COMMIT',
    '*filter',
    '-A FORWARD -i wan0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ...(nat === 'full' ? ['-A FORWARD -i wan0 -m conntrack --ctstate DNAT -j ACCEPT'] : []),
    '-A FORWARD -i wan0 -j DROP',
    '-A INPUT -i wan0 -m conntrack --ctstate NEW -j DROP',
    'COMMIT', ''
  ].join('\n')
}

async function sh (cmd: string, args: string[], input?: string): Promise<void> {
  const res = await run(cmd, args, { input })
  if (res.code !== 0) throw new Error(`${cmd} ${args[0]} failed: ${res.stderr.trim()}`)
}

/** Runs `fn` with extra environment variables set for the processes it starts. */
async function withEnv<T> (env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map(k => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    return await fn()
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
