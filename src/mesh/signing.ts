// Ed25519 signatures by a node's key, checked against the key inside a PeerId.
import { createPublicKey, sign, verify } from 'node:crypto'
import { privateKeyObject, type NodeKey } from './keys.ts'
import { publicKeyOf } from './peer-id.ts'

export function signBy (key: NodeKey, data: Uint8Array): Buffer {
  return sign(null, data, privateKeyObject(key.seed))
}

/** True when `signature` over `data` was made by the key `peerId` names; false for a PeerId without an Ed25519 key. */
export function signedBy (peerId: string, data: Uint8Array, signature: Uint8Array): boolean {
  const key = publicKeyOf(peerId)
  if (key === undefined) return false
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, format: 'jwk' })
  return verify(null, data, publicKey, signature)
}
