// Names on the DHT: each node publishes `name@domain → PeerId, addresses`, signed by its key;
// records are checked against the PeerId they name before anyone uses them.
import { InvalidArgumentError } from '../errors.ts'
import { NameRecord, SignedNameRecord } from '../gen/aurae/mesh/v0/mesh.ts'
import type { NodeKey } from '../node/keys.ts'
import { signBy, signedBy } from './signing.ts'

const NAMESPACE = 'aurae'

/** The DHT key of a name: `/aurae/<name>@<domain>`. */
export function nameKey (name: string, domain: string): Uint8Array {
  return new TextEncoder().encode(`/${NAMESPACE}/${name}@${domain}`)
}

export function signNameRecord (key: NodeKey, record: NameRecord): Uint8Array {
  const body = Buffer.from(NameRecord.encode(record).finish())
  return SignedNameRecord.encode({ body, signature: signBy(key, body) }).finish()
}

/** The record in a DHT value, if it is signed by the PeerId it names and filed under its own name. */
export function openNameRecord (key: Uint8Array, value: Uint8Array): NameRecord {
  let record: NameRecord
  let signed: SignedNameRecord
  try {
    signed = SignedNameRecord.decode(value)
    record = NameRecord.decode(signed.body)
  } catch {
    throw new InvalidArgumentError('name record is malformed')
  }
  if (new TextDecoder().decode(key) !== `/${NAMESPACE}/${record.name}@${record.domain}`) throw new InvalidArgumentError('name record is filed under another name')
  if (!signedBy(record.peerId, signed.body, signed.signature)) throw new InvalidArgumentError('name record is not signed by the node it names')
  return record
}

/** kad-dht hooks: reject what does not verify, and prefer the newest record. */
export const nameValidators = { [NAMESPACE]: async (key: Uint8Array, value: Uint8Array) => { openNameRecord(key, value) } }
export const nameSelectors = {
  [NAMESPACE]: (key: Uint8Array, values: Uint8Array[]): number => {
    let best = 0
    let bestSeq = -1
    values.forEach((v, i) => {
      try {
        const seq = openNameRecord(key, v).seq
        if (seq > bestSeq) { best = i; bestSeq = seq }
      } catch {}
    })
    return best
  }
}
