// One /24 per node on a machine: each node claims its container subnet in a host-wide folder, so that two nodes on
// one host never bridge the same addresses (a hash of the data dir alone let two of them collide).
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ResourceExhaustedError } from '../../errors.ts'

/** Where nodes on this machine claim their subnets: one file per subnet, holding the claiming node's data dir. */
export const CLAIMS_DIR = '/run/aurae/subnets'

const subnetOf = (i: number): string => `10.89.${i}.0/24`

/** The /24 destinations of the host's IPv4 routes and the interface of each (another bridge already using one). */
function routes (): Map<string, string> {
  const out = new Map<string, string>()
  let text = ''
  try {
    text = readFileSync('/proc/net/route', 'utf8')
  } catch {}
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest] = line.split('\t')
    if (dest === undefined || !/^[0-9A-F]{8}$/i.test(dest)) continue
    const n = parseInt(dest, 16)
    out.set(`${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.0/24`, iface)
  }
  return out
}

export interface SubnetClaim {
  subnet: string
  /** Gives the subnet back, once no container of the node uses it. */
  release: () => void
}

/**
 * The node's subnet: the one it used before if it is still its own, else the first that no other node has claimed
 * and no other interface routes. Without a writable claims folder (not root), the hashed one, as before.
 */
export function claimSubnet (dataDir: string, bridge: string, preferred: number, claimsDir = CLAIMS_DIR): SubnetClaim {
  const recordFile = join(dataDir, 'cni', 'subnet')
  let recorded: number | undefined
  try {
    const m = /^10\.89\.(\d+)\.0\/24$/.exec(readFileSync(recordFile, 'utf8').trim())
    if (m !== null) recorded = Number(m[1])
  } catch {}
  try {
    mkdirSync(claimsDir, { recursive: true, mode: 0o755 })
  } catch {
    return { subnet: subnetOf(recorded ?? preferred), release: () => {} }
  }
  const taken = routes()
  const order = [...new Set([...(recorded === undefined ? [] : [recorded]), preferred, ...Array.from({ length: 256 }, (_, i) => i)])]
  for (const i of order) {
    const subnet = subnetOf(i)
    const via = taken.get(subnet)
    if (via !== undefined && via !== bridge) continue
    const claim = join(claimsDir, `10.89.${i}.0`)
    if (!take(claim, dataDir)) continue
    mkdirSync(dirname(recordFile), { recursive: true })
    writeFileSync(recordFile, subnet + '\n')
    return {
      subnet,
      release: () => {
        if (ownerOf(claim) === dataDir) unlinkSync(claim)
      }
    }
  }
  throw new ResourceExhaustedError(`every container subnet of 10.89.0.0/16 is taken by other nodes on this machine (see ${claimsDir})`)
}

function ownerOf (claim: string): string | undefined {
  try {
    return readFileSync(claim, 'utf8')
  } catch {
    return undefined
  }
}

/** Claims the file for `dataDir`: it is ours already, free, or left by a node whose data dir is gone. */
function take (claim: string, dataDir: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(claim, dataDir, { flag: 'wx', mode: 0o644 })
      return true
    } catch (err: any) {
      if (err.code !== 'EEXIST') return false
    }
    const owner = ownerOf(claim)
    if (owner === dataDir) return true
    if (owner === undefined || owner === '' || existsSync(owner)) return false
    try {
      unlinkSync(claim)
    } catch {}
  }
  return false
}
