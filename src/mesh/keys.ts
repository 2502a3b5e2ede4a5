// The node's Ed25519 key, stored as a libp2p protobuf PrivateKey (the key type, the seed, the public half: 68 bytes)
// so the mesh can load it as is.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { FailedPreconditionError, messageOf } from '../errors.ts'

/** The node's identity: its private key and the PeerId libp2p derives from it. */
export interface NodeKey {
  privateKey: Ed25519PrivateKey
  peerId: string
}

/** Loads the key at `path`, or undefined when there is none. */
export async function loadKey (path: string): Promise<NodeKey | undefined> {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new FailedPreconditionError(`cannot read key ${path}: ${messageOf(err)}`)
  }
  const privateKey = ed25519KeyIn(bytes)
  if (privateKey === undefined) throw new FailedPreconditionError(`key ${path} is not an Ed25519 key in libp2p's format`)
  const mode = statSync(path).mode & 0o777
  if ((mode & 0o077) !== 0) throw new FailedPreconditionError(`key ${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`)
  const derived = await generateKeyPairFromSeed('Ed25519', privateKey.raw.subarray(0, 32))
  if (!derived.publicKey.equals(privateKey.publicKey)) throw new FailedPreconditionError(`key ${path} is corrupt: its public half does not match`)
  return nodeKeyOf(privateKey)
}

/** Creates a new key at `path` (mode 0600), refusing to overwrite one. */
export async function createKey (path: string): Promise<NodeKey> {
  const privateKey = await generateKeyPair('Ed25519')
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'wx', 0o600)
  try {
    writeSync(fd, privateKeyToProtobuf(privateKey))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  return nodeKeyOf(privateKey)
}

/** A NodeKey for a libp2p Ed25519 key (a test's stranger signs with one). */
export function nodeKeyOf (privateKey: Ed25519PrivateKey): NodeKey {
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() }
}

/** The key in `bytes` when they are exactly what createKey writes: an Ed25519 key in libp2p's protobuf, nothing more. */
function ed25519KeyIn (bytes: Uint8Array): Ed25519PrivateKey | undefined {
  try {
    const key = privateKeyFromProtobuf(bytes)
    if (key.type === 'Ed25519' && Buffer.from(privateKeyToProtobuf(key)).equals(bytes)) return key
  } catch {}
  return undefined
}
