// Keys and signed name records for the unit specs of the mesh's names.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { nodeKeyOf, type NodeKey } from '../../src/mesh/keys.ts'
import { signNameRecord } from '../../src/mesh/names.ts'

/** A fresh node key, as a stranger would make one. */
export async function newKey (): Promise<NodeKey> {
  return nodeKeyOf(await generateKeyPair('Ed25519'))
}

/** `by`'s own record for `name@example.org`, dated `seq`. */
export function recordBy (by: NodeKey, seq: number, name = 'alice', addrs = ['/ip4/10.0.0.1/tcp/4710']): Uint8Array {
  return signNameRecord(by, { name, domain: 'example.org', peerId: by.peerId, addrs, seq })
}
