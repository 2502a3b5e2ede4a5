import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createKey, loadKey } from '../../src/mesh/keys.ts'
import { KEY_FILE, KEY_PEER_ID } from '../helpers/mesh-vectors.ts'

describe('the node key', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'key-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('is an owner-only Ed25519 key that libp2p loads, with the PeerId libp2p derives', async () => {
    const path = join(dir, 'ssh', 'id_aura')
    const key = await createKey(path)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(key.peerId).toMatch(/^12D3KooW/)
    expect(peerIdFromPrivateKey(privateKeyFromProtobuf(readFileSync(path))).toString()).toBe(key.peerId)
    expect((await loadKey(path))?.peerId).toBe(key.peerId)
  })

  it('loads a key file written before libp2p\'s key code was used here, to the same PeerId, and is written in that format', async () => {
    const path = join(dir, 'old')
    writeFileSync(path, Buffer.from(KEY_FILE, 'hex'), { mode: 0o600 })
    expect((await loadKey(path))?.peerId).toBe(KEY_PEER_ID)
    const fresh = await createKey(join(dir, 'new'))
    expect(readFileSync(join(dir, 'new')).toString('hex')).toBe('08011240' + Buffer.from(fresh.privateKey.raw).toString('hex'))
    expect(fresh.privateKey.raw.subarray(32)).toEqual(fresh.privateKey.publicKey.raw)
  })

  it('is undefined when there is none', async () => {
    expect(await loadKey(join(dir, 'none'))).toBeUndefined()
  })

  it('refuses a garbled, truncated, mismatched or world-readable key', async () => {
    const path = join(dir, 'k')
    writeFileSync(path, 'not a key', { mode: 0o600 })
    await expect(loadKey(path)).rejects.toThrow(/is not an Ed25519 key in libp2p's format/)
    await createKey(join(dir, 'good'))
    const good = readFileSync(join(dir, 'good'))
    writeFileSync(path, good.subarray(0, 40), { mode: 0o600 })
    await expect(loadKey(path)).rejects.toThrow(/is not an Ed25519 key/)
    const flipped = Buffer.from(good)
    flipped[66] ^= 1
    writeFileSync(path, flipped, { mode: 0o600 })
    await expect(loadKey(path)).rejects.toThrow(/is corrupt/)
    chmodSync(join(dir, 'good'), 0o644)
    await expect(loadKey(join(dir, 'good'))).rejects.toThrow(/run: chmod 600/)
  })
})
