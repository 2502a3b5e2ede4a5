// The peers this node trusts, in memory and in the store, and the rule for the names they go by:
// a valid node name, not this node's own, and no name (the part before `@`) that another trusted peer holds,
// so `job@bob` always means one node.
import { InvalidArgumentError, NotFoundError } from '../errors.ts'
import { formatNodeName, isNodeName } from '../names/parse.ts'
import type { Table } from '../store/store.ts'

const NAME_RULES = 'lowercase letters, digits and "-" (at most 63), then an optional domain such as example.org'

/** A node this one trusts, as recorded when the two peered (the mesh's `peers` table). */
export interface PeerRecord {
  peerId: string
  name: string
  domain: string
  addrs: string[]
  trustedAt: number
  /** A nested node of this one (a VM's guest): called into, never trusted to call: its workloads are the VM's. */
  nested?: true
}

/** What is wrong with a name a peer goes by: not a node name, this node's own, or another trusted peer's. */
export type NameProblem = { kind: 'invalid' } | { kind: 'self' } | { kind: 'held', by: PeerRecord } | undefined

/** A peer just trusted (`trusted: true`), or no longer trusted. */
export interface TrustChange { trusted: boolean, peer: PeerRecord }

/** What the mesh's services need of the trust table: who is trusted now, and word when that changes. */
export type TrustView = Pick<TrustedPeers, 'has' | 'watch'>

export class TrustedPeers {
  private readonly peers = new Map<string, PeerRecord>()
  private readonly watchers = new Set<(change: TrustChange) => void>()

  constructor (private readonly table: Table<PeerRecord>) {}

  async load (): Promise<void> {
    for (const p of await this.table.values()) this.peers.set(p.peerId, p)
  }

  has (peerId: string): boolean {
    return this.peers.has(peerId)
  }

  /** Whether calls from `peerId` may be served: a trusted peer's, not a nested node's (see PeerRecord.nested). */
  mayCall (peerId: string): boolean {
    const p = this.peers.get(peerId)
    return p !== undefined && p.nested !== true
  }

  get (peerId: string): PeerRecord | undefined {
    return this.peers.get(peerId)
  }

  values (): PeerRecord[] {
    return [...this.peers.values()]
  }

  get size (): number {
    return this.peers.size
  }

  /** The PeerId that `name@domain` is pinned to by peering, if any. */
  pinnedTo (name: string, domain: string): string | undefined {
    return this.values().find(p => p.name === name && p.domain === domain)?.peerId
  }

  /** Whether `peerId` may be trusted under `name@domain` by a node called `self`. */
  nameProblem (name: string, domain: string, peerId: string, self: { name: string }): NameProblem {
    if (!isNodeName(name, domain)) return { kind: 'invalid' }
    if (name === self.name) return { kind: 'self' }
    const holder = this.values().find(p => p.name === name && p.peerId !== peerId)
    return holder === undefined ? undefined : { kind: 'held', by: holder }
  }

  /** Finds a trusted peer by `name[@domain]` or PeerId. */
  lookup (who: string): PeerRecord {
    const byId = this.peers.get(who)
    if (byId !== undefined) return byId
    const [name, domain = ''] = who.split('@')
    const found = this.values().filter(p => p.name === name && (domain === '' || p.domain === domain))
    if (found.length === 1) return found[0]
    if (found.length > 1) throw new InvalidArgumentError(`${who} is ambiguous: say which domain (${found.map(p => formatNodeName(p.name, p.domain)).join(', ')})`)
    throw new NotFoundError(`no trusted peer named ${who}; peer first with "aurae proxy"`)
  }

  /** Tells `watcher` of each peer trusted, or no longer trusted, from now on (the services that act on it); returns how to stop. */
  watch (watcher: (change: TrustChange) => void): () => void {
    this.watchers.add(watcher)
    return () => { this.watchers.delete(watcher) }
  }

  /** Records a peer as trusted, in memory once the store has it, and tells the watchers. */
  async add (record: PeerRecord): Promise<void> {
    await this.table.put(record.peerId, record)
    this.peers.set(record.peerId, record)
    this.tell({ trusted: true, peer: record })
  }

  async remove (peerId: string): Promise<PeerRecord | undefined> {
    const record = this.peers.get(peerId)
    this.peers.delete(peerId)
    await this.table.del(peerId)
    if (record !== undefined) this.tell({ trusted: false, peer: record })
    return record
  }

  private tell (change: TrustChange): void {
    for (const w of this.watchers) w(change)
  }
}

/** The issuer's refusal of a redeemer's name, as the redeemer will read it. */
export function redeemerNameRefusal (problem: NonNullable<NameProblem>, name: string, domain: string, issuer: string): string {
  if (problem.kind === 'invalid') return `${quote(formatNodeName(name, domain))} is not a valid node name: ${NAME_RULES}`
  if (problem.kind === 'self') return `the name ${name} is ${issuer}'s own`
  return `the name ${name} is already held by another trusted peer of ${issuer}`
}

/** The redeemer's refusal of the name a token's issuer goes by. */
export function issuerNameRefusal (problem: NonNullable<NameProblem>, name: string, domain: string): string {
  const calls = 'this token\'s issuer calls itself'
  if (problem.kind === 'invalid') return `${calls} ${quote(formatNodeName(name, domain))}, which is not a valid node name`
  if (problem.kind === 'self') return `${calls} ${name}, this node's own name`
  return `${calls} ${name}, a name already held by another trusted peer (${formatNodeName(problem.by.name, problem.by.domain)}, ${problem.by.peerId})`
}

/** A name that failed the rules, quoted for a message: escaped, and cut short. */
function quote (text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
}
