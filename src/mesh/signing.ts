// Ed25519 signatures by a node's key, checked against the key inside a PeerId.
import type { Ed25519PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { NodeKey } from './keys.ts'

/** Signs `data` with the node's key: tokens and name records carry such signatures. */
export function signBy (key: NodeKey, data: Uint8Array): Buffer {
  return Buffer.from(atOnce(key.privateKey.sign(data)))
}

/** True when `signature` over `data` was made by the key `peerId` names; false for a PeerId without an Ed25519 key. */
export function signedBy (peerId: string, data: Uint8Array, signature: Uint8Array): boolean {
  const key = publicKeyOf(peerId)
  if (key === undefined) return false
  try {
    return atOnce(key.verify(data, signature))
  } catch {
    return false
  }
}

/** The Ed25519 public key inside a PeerId written as libp2p writes it; undefined for any other text or key type. */
export function publicKeyOf (peerId: string): Ed25519PublicKey | undefined {
  try {
    const id = peerIdFromString(peerId)
    return id.type === 'Ed25519' && id.toString() === peerId ? id.publicKey : undefined
  } catch {
    return undefined
  }
}

/**
 * libp2p's Ed25519 keys sign and verify at once on Node (through node:crypto); their types also allow a browser's
 * asynchronous WebCrypto. Token and name-record checks run inside kad-dht's synchronous selectors, so they need it now.
 */
function atOnce<T> (result: T | Promise<T>): T {
  if (result instanceof Promise) {
    result.catch(() => {})
    throw new Error('Ed25519 answered asynchronously')
  }
  return result
}
