// Who holds a name on the DHT, as this node sees it. A name pinned by peering belongs to its pinned key.
// Any other name belongs to the first key this node saw claim it, until that key's record expires;
// other keys' claims are refused (in the DHT store) and reported (by resolve), never swapped in silently.
import { FailedPreconditionError } from '../errors.ts'
import type { NameRecord } from '../gen/aurae/mesh/v0/mesh.ts'
import { NAMESPACE, NAME_TTL_MS, claimsOf, openNameRecord } from './names.ts'

/** Names remembered at most; a full book takes no new name until one expires, so no stranger can grow it. */
const MAX_NAMES = 10_000

/** What a lookup means here: the record the name resolves to, and the other keys that claim it. */
export interface Resolution {
  /** Undefined when nothing valid was found, or when several keys claim a name no key holds yet. */
  record?: NameRecord
  /** PeerIds that also claim the name and were refused, sorted. */
  others: string[]
  pinned: boolean
}

export class NameBook {
  private readonly held = new Map<string, NameRecord>()

  /** `pinnedTo` gives the PeerId a name is pinned to by peering (or this node's own name to its own key). */
  constructor (private readonly pinnedTo: (name: string, domain: string) => string | undefined, private readonly max = MAX_NAMES) {}

  /** The key that holds the name filed under DHT key `key`: its pin, or the first key seen while its record is current. */
  holderOf (key: Uint8Array, now = Date.now()): string | undefined {
    const { name, domain } = splitKey(key)
    return this.pinnedTo(name, domain) ?? this.current(key, now)?.peerId
  }

  /** Takes a record into the book (a DHT store write); throws when another key holds the name, or for a replayed older record. */
  accept (key: Uint8Array, value: Uint8Array, now = Date.now()): NameRecord {
    const record = openNameRecord(key, value, now)
    const holder = this.holderOf(key, now)
    if (holder !== undefined && holder !== record.peerId) throw new FailedPreconditionError(`${textOf(key)} is held by ${holder}`)
    const known = this.current(key, now)
    if (known?.peerId === record.peerId && known.seq > record.seq) throw new FailedPreconditionError(`${textOf(key)} has a newer record`)
    // A pinned name is taken even when the book is full: its key is known, and pins are as few as the trusted peers.
    if (!this.remember(key, record, now) && holder === undefined) throw new FailedPreconditionError('too many names on record')
    return record
  }

  /** Decides what the values a lookup found mean here. */
  resolve (key: Uint8Array, values: Uint8Array[], now = Date.now()): Resolution {
    const claims = claimsOf(key, values, now)
    const known = this.current(key, now)
    if (known !== undefined && !((claims.get(known.peerId)?.seq ?? -1) >= known.seq)) claims.set(known.peerId, known)
    const { name, domain } = splitKey(key)
    const pin = this.pinnedTo(name, domain)
    const holder = pin ?? known?.peerId ?? (claims.size === 1 ? [...claims.keys()][0] : undefined)
    const others = [...claims.keys()].filter(k => k !== holder).sort()
    if (holder === undefined) return { others, pinned: false }
    const record = claims.get(holder)
    if (record !== undefined) this.remember(key, record, now)
    return { record, others, pinned: pin !== undefined }
  }

  /** The record the book holds for a name, if it is still current. */
  private current (key: Uint8Array, now: number): NameRecord | undefined {
    const record = this.held.get(textOf(key))
    return record !== undefined && record.seq + NAME_TTL_MS > now ? record : undefined
  }

  private remember (key: Uint8Array, record: NameRecord, now: number): boolean {
    const text = textOf(key)
    if (!this.held.has(text) && this.held.size >= this.max) {
      for (const [k, r] of this.held) if (r.seq + NAME_TTL_MS <= now) this.held.delete(k)
      if (this.held.size >= this.max) return false
    }
    this.held.set(text, record)
    return true
  }
}

/** True for DHT keys in the names' namespace. */
export function isNameKey (key: Uint8Array): boolean {
  return textOf(key).startsWith(`/${NAMESPACE}/`)
}

function textOf (key: Uint8Array): string {
  return new TextDecoder().decode(key)
}

function splitKey (key: Uint8Array): { name: string, domain: string } {
  const text = textOf(key).slice(NAMESPACE.length + 2)
  const at = text.indexOf('@')
  return at < 0 ? { name: text, domain: '' } : { name: text.slice(0, at), domain: text.slice(at + 1) }
}
