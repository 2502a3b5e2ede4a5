// The node's Ed25519 key, stored as a libp2p protobuf PrivateKey so the mesh can load it as is.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdirSync, openSync, readFileSync, writeSync, closeSync, fsyncSync, renameSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { FailedPreconditionError } from '../errors.ts'
import { peerIdOf } from './peer-id.ts'

/** The node's identity: raw key bytes and the PeerId libp2p derives from them. */
export interface NodeKey {
  seed: Uint8Array
  publicKey: Uint8Array
  peerId: string
}

// libp2p's keys.proto: PrivateKey { KeyType Type = 1; bytes Data = 2 }, Ed25519 = 1.
const PRIVATE_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x40)

/** Loads the key at `path`, or undefined when there is none. */
export function loadKey (path: string): NodeKey | undefined {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err: any) {
    if (err.code === 'ENOENT') return undefined
    throw new FailedPreconditionError(`cannot read key ${path}: ${err.message}`)
  }
  if (bytes.length !== 68 || !bytes.subarray(0, 4).equals(PRIVATE_PREFIX)) {
    throw new FailedPreconditionError(`key ${path} is not an Ed25519 key in libp2p's format`)
  }
  const mode = statSync(path).mode & 0o777
  if ((mode & 0o077) !== 0) throw new FailedPreconditionError(`key ${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`)
  const seed = bytes.subarray(4, 36)
  const publicKey = bytes.subarray(36, 68)
  if (!derivePublicKey(seed).equals(publicKey)) throw new FailedPreconditionError(`key ${path} is corrupt: its public half does not match`)
  return { seed, publicKey, peerId: peerIdOf(publicKey) }
}

/** Creates a new key at `path` (mode 0600), refusing to overwrite one. */
export function createKey (path: string): NodeKey {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })
  const seed = Buffer.from(jwk.d as string, 'base64url')
  const publicKey = Buffer.from(jwk.x as string, 'base64url')
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  const fd = openSync(tmp, 'wx', 0o600)
  try {
    writeSync(fd, Buffer.concat([PRIVATE_PREFIX, seed, publicKey]))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  return { seed, publicKey, peerId: peerIdOf(publicKey) }
}

/** The Ed25519 private key of a 32-byte seed, as node:crypto takes it. */
export function privateKeyObject (seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(seed).toString('base64url'), x: '' }, format: 'jwk' })
}

function derivePublicKey (seed: Uint8Array): Buffer {
  return Buffer.from(createPublicKey(privateKeyObject(seed)).export({ format: 'jwk' }).x as string, 'base64url')
}
