// The order libp2p dials a peer's addresses in. It dials them one after another, each with its own timeout, so
// an address that cannot answer (another network's LAN address, which no packet ever reaches) must come last,
// or it holds up the relayed address behind it for the whole timeout.
import type { Address } from '@libp2p/interface'
import { networkInterfaces } from 'node:os'
import { BlockList } from 'node:net'
import { messageOf } from '../errors.ts'
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

/**
 * Dials addresses in the order given, Happy Eyeballs style (RFC 8305): the next starts as soon as the one before
 * fails, or when it has not connected within `staggerMs`. The first to connect wins; the dials still running are
 * aborted, and one that connects all the same is handed to `discard`. Fails with every address's error when none
 * connects.
 *
 * Each dial gets a signal of its own that can abort only while that dial runs: a transport may tie the life of the
 * connection to it (libp2p's TCP hands it to net.connect), so neither the caller's deadline nor the end of the race
 * may reach a connection that won.
 */
export async function staggeredDial<A, C> (addrs: A[], dial: (addr: A, signal: AbortSignal) => Promise<C>, opts: { staggerMs: number, signal: AbortSignal, discard: (conn: C) => void }): Promise<C> {
  const running = new Set<AbortController>()
  const abortRunning = (): void => { for (const c of running) c.abort(opts.signal.reason) }
  opts.signal.addEventListener('abort', abortRunning)
  const errors: unknown[] = []
  let timer: NodeJS.Timeout | undefined
  try {
    return await new Promise<C>((resolve, reject) => {
      let next = 0
      let won = false
      const startNext = (): void => {
        clearTimeout(timer)
        if (won) return
        if (next >= addrs.length) {
          if (running.size === 0) reject(new AggregateError(errors, errors.length === 0 ? 'no address to dial' : errors.map(messageOf).join('; ')))
          return
        }
        const addr = addrs[next++]
        const own = new AbortController()
        running.add(own)
        if (opts.signal.aborted) own.abort(opts.signal.reason)
        dial(addr, own.signal).then(conn => {
          running.delete(own)
          if (won) return opts.discard(conn)
          won = true
          resolve(conn)
        }, err => {
          running.delete(own)
          errors.push(err)
          startNext()
        })
        if (next < addrs.length) timer = setTimeout(startNext, opts.staggerMs)
      }
      startNext()
    })
  } finally {
    clearTimeout(timer)
    opts.signal.removeEventListener('abort', abortRunning)
    for (const c of running) c.abort(new Error('another address connected first'))
  }
}
