// Names on the DHT: each node publishes `name@domain → PeerId, addresses`, signed by its key;
// records are checked against the PeerId they name, the node-name rules and their age before anyone uses them.
import { InvalidArgumentError } from '../errors.ts'
import { NameRecord, SignedNameRecord } from '../gen/aurae/mesh/v0/mesh.ts'
import { isNodeName } from '../names/parse.ts'
import type { NodeKey } from './keys.ts'
import { signBy, signedBy } from './signing.ts'

export const NAMESPACE = 'aurae'
/** A record is valid this long after it was signed; nodes republish theirs every few minutes. */
export const NAME_TTL_MS = 60 * 60_000
/** How far past this node's clock a record may be dated, for clocks that differ between machines. */
export const MAX_SKEW_MS = 10 * 60_000
const MAX_ADDRS = 32
/** A multiaddr as text: printable ASCII only, so no address can carry a terminal escape. */
const ADDR = /^\/[\x21-\x7e]{1,1023}$/

/** True for an address a peer may hand us: a multiaddr's text, with no control or space characters. */
export function isAddrText (text: string): boolean {
  return ADDR.test(text)
}

/** The DHT key of a name: `/aurae/<name>@<domain>`. */
export function nameKey (name: string, domain: string): Uint8Array {
  return new TextEncoder().encode(`/${NAMESPACE}/${name}@${domain}`)
}

export function signNameRecord (key: NodeKey, record: NameRecord): Uint8Array {
  const body = Buffer.from(NameRecord.encode(record).finish())
  return SignedNameRecord.encode({ body, signature: signBy(key, body) }).finish()
}

/** The record in a DHT value, if it is signed by the PeerId it names, filed under its own (valid) name, and current. */
export function openNameRecord (key: Uint8Array, value: Uint8Array, now = Date.now()): NameRecord {
  let record: NameRecord
  let signed: SignedNameRecord
  try {
    signed = SignedNameRecord.decode(value)
    record = NameRecord.decode(signed.body)
  } catch {
    throw new InvalidArgumentError('name record is malformed')
  }
  if (!isNodeName(record.name, record.domain)) throw new InvalidArgumentError('name record names no valid node name')
  if (new TextDecoder().decode(key) !== `/${NAMESPACE}/${record.name}@${record.domain}`) throw new InvalidArgumentError('name record is filed under another name')
  if (record.addrs.length > MAX_ADDRS || !record.addrs.every(isAddrText)) throw new InvalidArgumentError('name record carries unusable addresses')
  if (record.seq > now + MAX_SKEW_MS) throw new InvalidArgumentError('name record is dated in the future')
  if (record.seq + NAME_TTL_MS <= now) throw new InvalidArgumentError('name record has expired')
  if (!signedBy(record.peerId, signed.body, signed.signature)) throw new InvalidArgumentError('name record is not signed by the node it names')
  return record
}

/** The valid records among `values`, the newest per PeerId. */
export function claimsOf (key: Uint8Array, values: Uint8Array[], now = Date.now()): Map<string, NameRecord> {
  const claims = new Map<string, NameRecord>()
  for (const value of values) {
    let record: NameRecord
    try {
      record = openNameRecord(key, value, now)
    } catch {
      continue
    }
    const known = claims.get(record.peerId)
    if (known === undefined || record.seq > known.seq) claims.set(record.peerId, record)
  }
  return claims
}

/** kad-dht's validator: reject what does not verify (a stranger's PUT_VALUE, or a value another node answers with). */
export const nameValidators = { [NAMESPACE]: async (key: Uint8Array, value: Uint8Array) => { openNameRecord(key, value) } }

/**
 * kad-dht's selector, which also picks the record a lookup pushes to nodes holding another one:
 * the newest record of the key that holds the name here, else the newest of all.
 */
export function nameSelectors (holderOf: (key: Uint8Array) => string | undefined): Record<string, (key: Uint8Array, values: Uint8Array[]) => number> {
  return {
    [NAMESPACE]: (key, values) => {
      const holder = holderOf(key)
      let best = 0
      let bestRecord: NameRecord | undefined
      const held = (r: NameRecord): boolean => holder === undefined || r.peerId === holder
      values.forEach((v, i) => {
        try {
          const r = openNameRecord(key, v)
          const better = bestRecord === undefined || (held(r) && !held(bestRecord)) || (held(r) === held(bestRecord) && r.seq > bestRecord.seq)
          if (better) { best = i; bestRecord = r }
        } catch {}
      })
      return best
    }
  }
}
