// Which IP addresses count as public: the one classifier the mesh asks whenever it decides private against public.
//
// Test only: AURAE_TEST_PUBLIC_RANGES (comma-separated CIDRs, e.g. `10.213.0.0/16,192.168.0.0/16`) makes addresses in
// those ranges count as public, so that tests in network namespaces can play the internet with private ranges and
// run the same code a node on real public addresses runs. Entries that are not CIDRs are ignored.
import { BlockList, isIP } from 'node:net'

const V4 = [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['0.0.0.0', 8]] as const
const V6 = [['fc00::', 7], ['fe80::', 10], ['::1', 128], ['::', 128]] as const

const notPublic = new BlockList()
for (const [net, bits] of V4) notPublic.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of V6) notPublic.addSubnet(net, bits, 'ipv6')

let testRanges: { text: string, list: BlockList } | undefined

/** True for an address the internet could route to us: not RFC 1918, CGNAT, loopback, link-local, ULA or unspecified (test ranges aside). */
export function isPublicIp (ip: string): boolean {
  const family = familyOf(ip)
  if (family === undefined) return false
  if (testPublicRanges().check(ip, family)) return true
  return !notPublic.check(ip, family)
}

/** True for 127.0.0.0/8 and ::1 (and their IPv4-mapped forms): only this machine reaches them. */
export function isLoopbackIp (ip: string): boolean {
  const v4 = unmapped(ip)
  return v4.startsWith('127.') || v4 === '::1'
}

/** True for 169.254.0.0/16 and fe80::/10: valid on one link only, never worth announcing. */
export function isLinkLocalIp (ip: string): boolean {
  const v4 = unmapped(ip)
  return v4.startsWith('169.254.') || /^fe[89ab][0-9a-f]:/i.test(v4)
}

/** One spelling per address: IPv4-mapped IPv6 as plain IPv4, IPv6 in lower case. */
export function sameIp (a: string, b: string): boolean {
  return unmapped(a) === unmapped(b)
}

function unmapped (ip: string): string {
  const lower = ip.toLowerCase()
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower
}

/** The BlockList family of an address; undefined for what is not one. */
export function familyOf (ip: string): 'ipv4' | 'ipv6' | undefined {
  const v = isIP(ip)
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined
}

function testPublicRanges (): BlockList {
  const text = process.env.AURAE_TEST_PUBLIC_RANGES ?? ''
  if (testRanges?.text === text) return testRanges.list
  const list = new BlockList()
  for (const entry of text.split(',')) {
    const [net, bits] = entry.trim().split('/')
    const family = familyOf(net ?? '')
    const n = Number(bits)
    if (family === undefined || bits === undefined || !/^\d+$/.test(bits) || n > (family === 'ipv4' ? 32 : 128)) continue
    list.addSubnet(net, n, family)
  }
  testRanges = { text, list }
  return list
}
