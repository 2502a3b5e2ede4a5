import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TrustedPeers, type PeerRecord, type TrustChange } from '../../src/mesh/trusted.ts'
import { Store } from '../../src/store/store.ts'

const dir = mkdtempSync(join(tmpdir(), 'trusted-spec-'))
const store = await Store.open(join(dir, 'store'))
afterAll(async () => {
  await store.stop()
  rmSync(dir, { recursive: true, force: true })
})
let tables = 0
const fresh = (): TrustedPeers => new TrustedPeers(store.table<PeerRecord>(`peers${tables++}`))
const peer = (peerId: string, name: string, domain = 'example.org'): PeerRecord => ({ peerId, name, domain, addrs: [], trustedAt: 1 })

describe('the trust table', () => {
  it('tells its watchers of each peer trusted and no longer trusted, once the table says so', async () => {
    const trusted = fresh()
    const seen: Array<TrustChange & { has: boolean }> = []
    const stop = trusted.watch(change => seen.push({ ...change, has: trusted.has(change.peer.peerId) }))
    await trusted.add(peer('A', 'bob'))
    await trusted.remove('A')
    await trusted.remove('nobody')
    stop()
    await trusted.add(peer('B', 'carol'))
    expect(seen).toEqual([{ trusted: true, peer: peer('A', 'bob'), has: true }, { trusted: false, peer: peer('A', 'bob'), has: false }])
  })

  it('serves calls from trusted peers only, and never from a nested node, which it only calls into', async () => {
    const trusted = fresh()
    await trusted.add(peer('A', 'bob'))
    await trusted.add({ ...peer('N', 'tenant-a'), nested: true })
    expect([trusted.mayCall('A'), trusted.mayCall('N'), trusted.mayCall('stranger')]).toEqual([true, false, false])
    expect(trusted.has('N')).toBe(true)
  })

  it('keeps what it trusts in the store', async () => {
    const table = store.table<PeerRecord>('kept')
    await new TrustedPeers(table).add(peer('A', 'bob'))
    const again = new TrustedPeers(table)
    await again.load()
    expect(again.has('A')).toBe(true)
    expect(again.pinnedTo('bob', 'example.org')).toBe('A')
    expect(again.pinnedTo('bob', 'other.org')).toBeUndefined()
  })

  it('refuses a name that is no node name, this node\'s own, or one another trusted peer holds', async () => {
    const trusted = fresh()
    await trusted.add(peer('A', 'bob'))
    const self = { name: 'alice' }
    expect(trusted.nameProblem('Bob!', '', 'B', self)).toEqual({ kind: 'invalid' })
    expect(trusted.nameProblem('alice', 'other.org', 'B', self)).toEqual({ kind: 'self' })
    expect(trusted.nameProblem('bob', 'other.org', 'B', self)).toEqual({ kind: 'held', by: peer('A', 'bob') })
    expect(trusted.nameProblem('bob', 'example.org', 'A', self)).toBeUndefined()
    expect(trusted.nameProblem('carol', '', 'B', self)).toBeUndefined()
  })

  it('finds a peer by PeerId or name, and says when a name is ambiguous or unknown', async () => {
    const trusted = fresh()
    await trusted.add(peer('A', 'bob'))
    await trusted.add(peer('B', 'carol', 'one.org'))
    await trusted.add(peer('C', 'carol', 'two.org'))
    expect(trusted.lookup('A').name).toBe('bob')
    expect(trusted.lookup('bob').peerId).toBe('A')
    expect(trusted.lookup('carol@two.org').peerId).toBe('C')
    expect(() => trusted.lookup('carol')).toThrow('carol is ambiguous: say which domain (carol@one.org, carol@two.org)')
    expect(() => trusted.lookup('dave')).toThrow('no trusted peer named dave; peer first with "aurae proxy"')
  })
})
