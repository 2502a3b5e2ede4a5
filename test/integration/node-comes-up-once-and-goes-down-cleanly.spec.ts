import { statSync, existsSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { isAlive, startNode, until, type TestNode } from '../helpers/node.ts'

describe('a node comes up once and goes down cleanly', () => {
  let node: TestNode | undefined
  afterEach(async () => { await node?.stop(); node = undefined })

  it('serves only status until it is given a name, then creates an owner-only key libp2p can load', async () => {
    node = await startNode(null)
    const before = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(before.state).toBe('uninitialized')
    expect(before.peerId).toBe('')
    expect(existsSync(node.key)).toBe(false)

    const ps = await node.cli(['ps'])
    expect(ps.code).toBe(1)
    expect(ps.stderr).toMatch(/not initialized; run: aurae up NAME/)

    const up = await node.cli(['up', 'alice@example.org', '--key', node.key, '--data', node.data])
    expect(up.code).toBe(0)
    expect(up.stderr).toContain('alice@example.org is up')
    const after = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(after).toMatchObject({ state: 'running', name: 'alice', domain: 'example.org' })
    expect(up.stdout).toContain(after.peerId)

    expect(statSync(node.key).mode & 0o777).toBe(0o600)
    expect(statSync(node.sock).mode & 0o777).toBe(0o600)
    const libp2pKey = privateKeyFromProtobuf(readFileSync(node.key))
    expect(peerIdFromPrivateKey(libp2pKey).toString()).toBe(after.peerId)
  })

  it('treats the same name as a no-op and refuses another unless --rename', async () => {
    node = await startNode('alice@example.org')
    const { peerId } = JSON.parse((await node.cli(['status', '--json'])).stdout)

    const again = await node.up()
    expect(again.code).toBe(0)
    expect(again.stderr).toContain('already up; nothing to do')

    const other = await node.cli(['up', 'bob@example.org', '--key', node.key, '--data', node.data])
    expect(other.code).toBe(1)
    expect(other.stderr.trim()).toBe('aurae: this node is already up as alice@example.org; use --rename to change its name')

    const renamed = await node.cli(['up', 'bob', '--rename', '--key', node.key, '--data', node.data])
    expect(renamed.code).toBe(0)
    const s = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(s).toMatchObject({ name: 'bob', domain: '', peerId })
  })

  it('keeps its name and key across a restart and reports a stopped daemon with exit 3', async () => {
    node = await startNode('alice@example.org')
    const first = JSON.parse((await node.cli(['status', '--json'])).stdout)
    const down = await node.cli(['down'])
    expect(down.code).toBe(0)
    await until('the daemon to exit', () => !isAlive(first.pid))
    expect(existsSync(node.sock)).toBe(false)

    const status = await node.cli(['status'])
    expect(status.code).toBe(3)
    expect(status.stderr.trim()).toBe(`aurae: auraed is not running on ${node.sock}; start it with: aurae up NAME[@DOMAIN]`)
    const json = await node.cli(['status', '--json'])
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout).state).toBe('stopped')

    const up = await node.cli(['up', '--key', node.key, '--data', node.data])
    expect(up.code).toBe(0)
    const second = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(second).toMatchObject({ state: 'running', name: 'alice', domain: 'example.org', peerId: first.peerId })
    expect(second.pid).not.toBe(first.pid)
  })

  it('refuses a second daemon on the same socket', async () => {
    node = await startNode('alice')
    const { run, AURAED } = await import('../helpers/node.ts')
    const res = await run(process.execPath, [AURAED, '--sock', node.sock, '--key', node.key, '--data', node.data + '-2'])
    expect(res.code).toBe(1)
    expect(res.stderr.trim()).toBe(`auraed: auraed is already running on ${node.sock}`)
  })
})
