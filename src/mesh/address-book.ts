// What trusted peers told this node about its own addresses: where they saw it, and which addresses they dialled back.
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { addrKey, announceable, ipOf, isBridge, isRelayed, localInterfaces, tcpPortOf, type Verdict } from './addresses.ts'
import { isLinkLocalIp, isLoopbackIp, isPublicIp } from './public-ip.ts'

/** A dial-back answer older than this no longer counts (checks repeat every few minutes while a peer is connected). */
export const VERDICT_TTL_MS = 15 * 60_000
/** How many of our addresses one request names. */
export const MAX_CANDIDATES = 8
const MAX_KEYS = 64
const MAX_OBSERVERS = 256

export type Reachability = 'public' | 'private' | 'unknown'

export interface AddressBookInit {
  /** True when the peer is trusted now: only trusted peers' words count. */
  trusts: (peerId: string) => boolean
  interfaces?: () => Map<string, string>
  now?: () => number
}

export class AddressBook {
  /**
   * address key → peer → whether that peer's fresh connection reached us there, when, and whether the peer is
   * outside our own networks (a peer on our LAN reaching us says nothing of the rest of the mesh).
   */
  private readonly verdicts = new Map<string, Map<string, { reached: boolean, at: number, outside: boolean }>>()
  /** peer → the address it saw our connection come from (identify's observedAddr). */
  private readonly observed = new Map<string, Multiaddr>()
  private readonly interfaces: () => Map<string, string>
  private readonly now: () => number
  private answeredAt = 0

  constructor (private readonly init: AddressBookInit) {
    this.interfaces = init.interfaces ?? localInterfaces
    this.now = init.now ?? Date.now
  }

  /** Notes where a peer saw us; kept for the most recent peers only. */
  observe (peerId: string, addr: Multiaddr): void {
    if (ipOf(addr) === undefined) return
    this.observed.delete(peerId)
    this.observed.set(peerId, multiaddr(addrKey(addr)))
    if (this.observed.size > MAX_OBSERVERS) this.observed.delete(this.observed.keys().next().value as string)
  }

  /** Where trusted peers saw us, as they reported it. */
  observedAddrs (): string[] {
    return [...new Set([...this.observed].filter(([peer]) => this.init.trusts(peer)).map(([, a]) => a.toString()))]
  }

  /**
   * The addresses to ask `peerId` to dial: our TCP listen addresses on real interfaces, and the IP that peer sees us
   * at with each of our TCP listen ports (a NAT that forwards the port makes that one dialable). Those on the peer's
   * view of our IP first, since it dials no other; at most MAX_CANDIDATES.
   */
  candidates (listen: Multiaddr[], peerId: string): string[] {
    const ifaces = this.interfaces()
    const direct = listen.filter(a => {
      const ip = ipOf(a)
      if (ip === undefined || tcpPortOf(a) === undefined || isLoopbackIp(ip) || isLinkLocalIp(ip) || ip === '0.0.0.0' || ip === '::') return false
      const iface = ifaces.get(ip.toLowerCase())
      return iface === undefined || !isBridge(iface)
    })
    const ports = [...new Set(listen.map(tcpPortOf).filter((p): p is number => p !== undefined))]
    const seen = this.observed.get(peerId)
    const seenIp = seen === undefined ? undefined : ipOf(seen)
    const fromSeen = seenIp === undefined || isLoopbackIp(seenIp) || isLinkLocalIp(seenIp)
      ? []
      : ports.map(p => `/${seenIp.includes(':') ? 'ip6' : 'ip4'}/${seenIp}/tcp/${p}`)
    const keys = [...fromSeen, ...direct.map(addrKey)]
    return [...new Set(keys)].sort((a, b) => Number(onIp(b, seenIp)) - Number(onIp(a, seenIp))).slice(0, MAX_CANDIDATES)
  }

  /** Records a peer's answer: for each address it dialled, whether a fresh connection reached us. */
  record (peerId: string, results: Array<{ addr: string, reached: boolean }>, outside = true): void {
    const at = this.now()
    for (const r of results) {
      let byPeer = this.verdicts.get(r.addr)
      if (byPeer === undefined) {
        byPeer = new Map()
        this.verdicts.set(r.addr, byPeer)
        if (this.verdicts.size > MAX_KEYS) this.verdicts.delete(this.verdicts.keys().next().value as string)
      }
      byPeer.delete(peerId)
      byPeer.set(peerId, { reached: r.reached, at, outside })
      if (byPeer.size > MAX_OBSERVERS) byPeer.delete(byPeer.keys().next().value as string)
    }
    if (results.length > 0) this.answeredAt = at
  }

  /** Confirmed when a trusted peer reached it lately; refuted when trusted peers tried and none did. */
  verdict (key: string): Verdict {
    const fresh = this.fresh(key)
    if (fresh.some(v => v.reached)) return 'confirmed'
    return fresh.length > 0 ? 'refuted' : 'unchecked'
  }

  /** Keys of the addresses trusted peers reached lately that no interface of ours holds (a NAT's forwarded port). */
  confirmedElsewhere (): string[] {
    const ifaces = this.interfaces()
    return [...this.verdicts.keys()].filter(k => {
      const ip = ipOf(multiaddr(k))
      return ip !== undefined && !ifaces.has(ip.toLowerCase()) && this.verdict(k) === 'confirmed'
    })
  }

  /** The announce filter: see addresses.ts. */
  announce (addrs: Multiaddr[]): Multiaddr[] {
    const ifaces = this.interfaces()
    return announceable(addrs, { interfaceOf: ip => ifaces.get(ip.toLowerCase()), verdict: key => this.verdict(key) })
  }

  /**
   * public: a trusted peer reached one of our public-class addresses on a fresh connection, or a trusted peer from
   * outside our own networks reached any of them (a mesh on private ranges). private: otherwise, once
   * some trusted peer answered (it reached us only on private addresses, or not at all), when we listen through a
   * relay (`announced` has a relayed address), or when we listen only where no other machine could dial (`listen`
   * holds loopback, link-local or bridge addresses alone). unknown: before any of these.
   */
  reachability (announced: Multiaddr[], listen: Multiaddr[]): Reachability {
    const keys = [...this.verdicts.keys()]
    if (keys.some(k => isPublicIp(ipOf(multiaddr(k)) ?? '') && this.verdict(k) === 'confirmed') || this.dialableFromOutside() === true) return 'public'
    if (announced.some(isRelayed) || keys.some(k => this.verdict(k) !== 'unchecked')) return 'private'
    if (listen.some(a => tcpPortOf(a) !== undefined) && this.candidates(listen, '').length === 0) return 'private'
    return 'unknown'
  }

  /**
   * Whether peers outside this node's own networks can dial it: true once one of them reached any of our addresses
   * (public-class or not: a mesh on one private network has an outside too), false once they tried and none did,
   * undefined before any answered. A node no one outside can dial listens through relays, and serves none.
   */
  dialableFromOutside (): boolean | undefined {
    const since = this.now() - VERDICT_TTL_MS
    const answers = [...this.verdicts.values()].flatMap(byPeer => [...byPeer].filter(([peer, v]) => v.outside && v.at >= since && this.init.trusts(peer)).map(([, v]) => v))
    if (answers.length === 0) return undefined
    return answers.some(v => v.reached)
  }

  /** When a trusted peer last answered a dial-back request; 0 before any did. */
  checkedAt (): number {
    return this.answeredAt
  }

  private fresh (key: string): Array<{ reached: boolean }> {
    const since = this.now() - VERDICT_TTL_MS
    return [...(this.verdicts.get(key) ?? [])].filter(([peer, v]) => v.at >= since && this.init.trusts(peer)).map(([, v]) => v)
  }
}

function onIp (key: string, ip: string | undefined): boolean {
  return ip !== undefined && ipOf(multiaddr(key)) === ip
}
