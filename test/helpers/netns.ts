// Test hosts in network namespaces: a switch namespace with a bridge, and one namespace per host
// wired to it by a veth pair, each with its own address. Everything is removed by destroy().
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' })
const inNs = (ns: string, ...args: string[]): string => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' })

export class TestNet {
  readonly id = randomBytes(3).toString('hex')
  private readonly hosts = new Map<string, { ns: string, addr: string, port: string }>()
  private readonly switchNs = `aur-${this.id}-sw`

  private constructor () {}

  /** Makes the switch and one host per name, on 10.213.0.0/24; hosts named in `natted` sit behind a NAT router instead. */
  static create (names: string[], natted: string[] = []): TestNet {
    const net = new TestNet()
    try {
      ip('netns', 'add', net.switchNs)
      inNs(net.switchNs, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
      inNs(net.switchNs, 'ip', 'link', 'set', 'br0', 'up')
      names.forEach((name, i) => natted.includes(name) ? net.addNattedHost(name, i + 1) : net.addHost(name, i + 1))
    } catch (err) {
      net.destroy()
      throw err
    }
    return net
  }

  private addHost (name: string, n: number): void {
    const ns = `aur-${this.id}-${name}`
    const port = `p${n}`
    ip('netns', 'add', ns)
    ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.switchNs)
    inNs(this.switchNs, 'ip', 'link', 'set', port, 'master', 'br0')
    inNs(this.switchNs, 'ip', 'link', 'set', port, 'up')
    const addr = `10.213.0.${n}`
    inNs(ns, 'ip', 'addr', 'add', `${addr}/24`, 'dev', 'eth0')
    inNs(ns, 'ip', 'link', 'set', 'eth0', 'up')
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up')
    this.hosts.set(name, { ns, addr, port })
  }

  /**
   * A host on its own private link (192.168.N.2) behind a router namespace that holds 10.213.0.N on
   * the switch and masquerades: the host can reach out, nothing can reach in.
   */
  private addNattedHost (name: string, n: number): void {
    this.addHost(`${name}-gw`, n)
    const gw = this.ns(`${name}-gw`)
    const ns = `aur-${this.id}-${name}`
    ip('netns', 'add', ns)
    ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', gw)
    inNs(gw, 'ip', 'addr', 'add', `192.168.${n}.1/24`, 'dev', 'lan0')
    inNs(gw, 'ip', 'link', 'set', 'lan0', 'up')
    inNs(gw, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
    inNs(gw, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE')
    inNs(gw, 'iptables', '-A', 'FORWARD', '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT')
    inNs(gw, 'iptables', '-A', 'FORWARD', '-i', 'eth0', '-j', 'DROP')
    inNs(gw, 'iptables', '-A', 'INPUT', '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP')
    const addr = `192.168.${n}.2`
    inNs(ns, 'ip', 'addr', 'add', `${addr}/24`, 'dev', 'eth0')
    inNs(ns, 'ip', 'link', 'set', 'eth0', 'up')
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up')
    inNs(ns, 'ip', 'route', 'add', 'default', 'via', `192.168.${n}.1`)
    this.hosts.set(name, { ns, addr, port: this.host(`${name}-gw`).port })
  }

  ns (name: string): string {
    return this.host(name).ns
  }

  addr (name: string): string {
    return this.host(name).addr
  }

  /** Cuts the host's cable at the switch (and puts it back with linkUp). */
  linkDown (name: string): void {
    inNs(this.switchNs, 'ip', 'link', 'set', this.host(name).port, 'down')
  }

  linkUp (name: string): void {
    inNs(this.switchNs, 'ip', 'link', 'set', this.host(name).port, 'up')
  }

  destroy (): void {
    for (const { ns } of this.hosts.values()) {
      try { ip('netns', 'del', ns) } catch {}
    }
    try { ip('netns', 'del', this.switchNs) } catch {}
  }

  private host (name: string): { ns: string, addr: string, port: string } {
    const h = this.hosts.get(name)
    if (h === undefined) throw new Error(`no test host ${name}`)
    return h
  }
}
