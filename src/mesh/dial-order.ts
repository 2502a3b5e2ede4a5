// The order libp2p dials a peer's addresses in. It dials them one after another, each with its own timeout, so
// an address that cannot answer (another network's LAN address, which no packet ever reaches) must come last,
// or it holds up the relayed address behind it for the whole timeout.
import type { Address } from '@libp2p/interface'
import { networkInterfaces } from 'node:os'
import { BlockList } from 'node:net'
import { ipOf, isRelayed } from './addresses.ts'
import { familyOf, isPublicIp } from './public-ip.ts'

/** Rank of an address: on a network this machine is on, public, through a relay, anything else (a LAN elsewhere). */
export function dialRank (addr: Address['multiaddr'], local: BlockList): number {
  if (isRelayed(addr)) return 2
  const ip = ipOf(addr)
  if (ip === undefined) return 3
  if (onNetwork(ip, local)) return 0
  return isPublicIp(ip) ? 1 : 3
}

/** The networks this machine (this network namespace) has an address on, loopback included. */
export function localNetworks (): BlockList {
  const list = new BlockList()
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const bits = Number(a.cidr?.split('/')[1])
      if (Number.isInteger(bits)) list.addSubnet(a.address, bits, a.family === 'IPv4' ? 'ipv4' : 'ipv6')
    }
  }
  return list
}

/** True when `ip` is on one of the networks in `nets` (by default, this machine's own). */
export function onNetwork (ip: string, nets = localNetworks()): boolean {
  const family = familyOf(ip)
  return family !== undefined && nets.check(ip, family)
}

/** A sorter for libp2p's connection manager; certified addresses first within a rank, as libp2p's own does. */
export function dialOrder (): (a: Address, b: Address) => -1 | 0 | 1 {
  let local = localNetworks()
  let at = Date.now()
  return (a, b) => {
    // Interfaces change rarely; a sort looks at most once a second.
    if (Date.now() - at > 1000) {
      local = localNetworks()
      at = Date.now()
    }
    return Math.sign(dialRank(a.multiaddr, local) - dialRank(b.multiaddr, local) || Number(b.isCertified) - Number(a.isCertified)) as -1 | 0 | 1
  }
}
