// What a node announces (in identify, tokens and DHT records): only addresses others can dial.
//
// - relay addresses (`/p2p-circuit`): always;
// - link-local addresses and addresses on container bridges (aurae's own `aur<8 hex>`, docker0, cni*, podman*,
//   virbr*, lxcbr*, br-<hex>): never;
// - loopback: only when every direct address the node has is loopback (a mesh on one machine), never beside others;
// - private-class addresses (see public-ip.ts) on the node's own interfaces: for peers on the same LAN, unless the
//   node listens through a relay: then it is behind a NAT, others dial its LAN address in vain (libp2p dials one
//   address after another, so each such dial holds up the ones behind it), and a peer on the same LAN still ends
//   up direct: it comes through the relay, and WebRTC's ICE finds the LAN path from there;
// - public-class addresses: once a trusted peer's dial-back reached them; an address on one of the node's own
//   interfaces also before any dial-back answered (so a public node can issue its first token), until a dial-back
//   fails with none succeeding; a TCP address only peers observed (a NAT's) only once a dial-back reached it.
//   Dial-backs check plain TCP addresses; others (UDP) come here only once libp2p counts them verified, and pass
//   unless a dial-back refuted them.
import { networkInterfaces } from 'node:os'
import { CODE_P2P, CODE_P2P_CIRCUIT, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { isLinkLocalIp, isLoopbackIp, isPublicIp } from './public-ip.ts'

/** What trusted peers' dial-backs said of an address, keyed by `addrKey`. */
export type Verdict = 'confirmed' | 'refuted' | 'unchecked'

/** Interface names of container and VM bridges: addresses there reach only this machine's guests. */
const BRIDGE = /^(aur[0-9a-f]{8}|docker\d+|cni.*|podman.*|virbr.*|lxcbr.*|br-[0-9a-f]+)$/

export interface AddressView {
  /** The name of this machine's interface holding `ip`, or undefined when no interface here has it. */
  interfaceOf: (ip: string) => string | undefined
  verdict: (key: string) => Verdict
}

/** Keeps the addresses worth announcing, by the rules at the top of this file. */
export function announceable (addrs: Multiaddr[], view: AddressView): Multiaddr[] {
  const direct = addrs.filter(a => !isRelayed(a) && ipOf(a) !== undefined)
  const onlyLoopback = direct.length > 0 && direct.every(a => isLoopbackIp(ipOf(a) as string))
  const throughRelay = addrs.some(isRelayed)
  return addrs.filter(a => {
    const ip = ipOf(a)
    if (isRelayed(a) || ip === undefined) return true
    if (isLoopbackIp(ip)) return onlyLoopback
    if (isLinkLocalIp(ip)) return false
    const iface = view.interfaceOf(ip)
    if (iface !== undefined && isBridge(iface)) return false
    if (!isPublicIp(ip)) return !throughRelay
    const verdict = view.verdict(addrKey(a))
    return verdict === 'confirmed' || (verdict === 'unchecked' && (iface !== undefined || tcpPortOf(a) === undefined))
  })
}

/** True for an interface that only reaches containers or VMs on this machine. */
export function isBridge (name: string): boolean {
  return BRIDGE.test(name)
}

/** The interface holding each of this machine's (this network namespace's) addresses. */
export function localInterfaces (): Map<string, string> {
  const out = new Map<string, string>()
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) out.set(a.address.toLowerCase(), name)
  }
  return out
}

/** The address's IP, when it starts with one. */
export function ipOf (a: Multiaddr): string | undefined {
  const first = a.getComponents()[0]
  return first?.name === 'ip4' || first?.name === 'ip6' ? first.value : undefined
}

/** The TCP port of a plain `/ip4|ip6/…/tcp/N[/p2p/…]` address; undefined for anything else. */
export function tcpPortOf (a: Multiaddr): number | undefined {
  const c = a.getComponents()
  if (ipOf(a) === undefined || c[1]?.name !== 'tcp' || c.slice(2).some(x => x.code !== CODE_P2P)) return undefined
  return Number(c[1].value)
}

/** The IP and port of a plain TCP address (`/ip4|ip6/…/tcp/N[/p2p/…]`). */
export function ipAndTcpPort (addr: Multiaddr): { ip: string, port: number } | undefined {
  const ip = ipOf(addr)
  const port = tcpPortOf(addr)
  return ip === undefined || port === undefined ? undefined : { ip, port }
}

/** The relay part of a relayed address (all before `/p2p-circuit`); undefined for an address that is not relayed. */
export function relayOf (a: Multiaddr): string | undefined {
  const text = a.toString()
  const at = text.indexOf('/p2p-circuit')
  return at < 0 ? undefined : text.slice(0, at)
}

export function isRelayed (a: Multiaddr): boolean {
  return a.getComponents().some(c => c.code === CODE_P2P_CIRCUIT)
}

/**
 * True for a connection not through a relay: neither limited by one nor at a `/p2p-circuit` address (our relays set
 * no limits). WebRTC is direct: its address names the relay that carried its handshake, but its packets go peer to peer.
 */
export function isDirectConnection (c: { limits?: unknown, remoteAddr: Multiaddr }): boolean {
  return c.limits === undefined && (!isRelayed(c.remoteAddr) || c.remoteAddr.getComponents().some(x => x.name === 'webrtc'))
}

/** An address without its trailing `/p2p/<id>`, as text: how verdicts and candidates are keyed. */
export function addrKey (a: Multiaddr): string {
  const c = a.getComponents()
  return c[c.length - 1]?.code === CODE_P2P ? a.decapsulateCode(CODE_P2P).toString() : a.toString()
}

/** Where others can reach this node, of the addresses libp2p announces. WebRTC addresses are left out: a peer reaches us through the relay first, and goes direct from there. */
export function reachableAt (announced: Multiaddr[]): string[] {
  return announced.map(a => a.toString()).filter(a => !a.includes('/webrtc'))
}

/** The addresses among `addrs` that parse as multiaddrs. */
export function parseAddrs (addrs: string[]): Multiaddr[] {
  return addrs.flatMap(a => { try { return [multiaddr(a)] } catch { return [] } })
}
