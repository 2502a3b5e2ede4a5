import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NameRecord, SignedNameRecord } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { nameKey, signNameRecord } from '../../src/mesh/names.ts'
import type { NodeKey } from '../../src/mesh/keys.ts'
import { startNode, until, type TestNode, type Result } from '../helpers/node.ts'
import { stranger } from '../helpers/stranger.ts'

const signerOf = (value: Uint8Array): string => NameRecord.decode(SignedNameRecord.decode(value).body).peerId

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/

describe('a stranger cannot take a name on the DHT', () => {
  const nodes: TestNode[] = []
  let emily: TestNode
  let alice: TestNode
  let carol: TestNode
  let emilyAddr: string
  let aliceId: string
  let mallory: Libp2p<any>
  let malloryKey: NodeKey
  const ids = new Set<string>()
  const statusOf = async (n: TestNode): Promise<any> => JSON.parse((await n.cli(['status', '--json'])).stdout)
  const start = async (name: string, bootstrap?: string): Promise<TestNode> => {
    const n = await startNode(name, ['--listen', '/ip4/127.0.0.1/tcp/0', ...(bootstrap === undefined ? [] : ['--bootstrap', bootstrap])])
    nodes.push(n)
    ids.add((await statusOf(n)).peerId)
    return n
  }
  const resolve = async (n: TestNode, name = 'alice@example.org'): Promise<Result> => await n.cli(['resolve', name, '--json'])

  /** Mallory signs a record for `name` with its own key and puts it to the DHT servers it finds; returns who stored it. */
  const publish = async (name: string, seq: number, addrs: string[] = mallory.getMultiaddrs().map(a => a.toString())): Promise<string[]> => {
    const value = signNameRecord(malloryKey, { name, domain: 'example.org', peerId: malloryKey.peerId, addrs, seq })
    const stored: string[] = []
    try {
      for await (const e of mallory.services.dht.put(nameKey(name, 'example.org'), value, { signal: AbortSignal.timeout(20_000) })) {
        if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE' && ids.has(e.from.toString())) stored.push(e.from.toString())
      }
    } catch {}
    return stored
  }

  beforeAll(async () => {
    emily = await start('emily@example.org')
    emilyAddr = (await statusOf(emily)).mesh.addrs[0]
    alice = await start('alice@example.org', emilyAddr)
    carol = await start('carol@example.org', emilyAddr)
    aliceId = (await statusOf(alice)).peerId
    // emily pins alice by peering; carol looks alice up once, before any stranger claims the name.
    expect((await emily.cli(['proxy', (await alice.cli(['proxy'])).stdout.trim()])).code).toBe(0)
    await until('carol to resolve alice', async () => {
      const r = await resolve(carol)
      return r.code === 0 && JSON.parse(r.stdout).peerId === aliceId
    })
    const s = await stranger({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      services: {
        identify: identify(),
        ping: ping(),
        // Mallory's DHT is the attacker's: it keeps its own records and takes no correction from anyone.
        dht: kadDHT({ protocol: '/aurae/kad/1.0.0', clientMode: false, peerInfoMapper: passthroughMapper, validators: { aurae: async (_key, value) => { if (signerOf(value) !== malloryKey.peerId) throw new Error('not mallory\'s') } }, selectors: { aurae: () => 0 } })
      }
    })
    mallory = s.node
    malloryKey = s.key
    for (const n of nodes) await mallory.dial(multiaddr((await statusOf(n)).mesh.addrs[0]))
    await until('mallory to know the DHT servers', () => mallory.getPeers().length >= nodes.length)
  })
  afterAll(async () => {
    await mallory?.stop()
    for (const n of nodes) await n.stop()
  })

  it('refuses a record dated far in the future: every node still resolves alice to alice', async () => {
    expect(await publish('alice', Date.now() + 1e12)).toEqual([])
    for (const n of [emily, carol]) {
      const r = await resolve(n)
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout).peerId).toBe(aliceId)
    }
  })

  it('refuses another key\'s claim to a name already held, and reports it', async () => {
    expect(await publish('alice', Date.now())).toEqual([])
    const pinned = await resolve(emily)
    expect(pinned.code).toBe(0)
    expect(JSON.parse(pinned.stdout)).toMatchObject({ peerId: aliceId, pinned: true })
    // carol saw alice first: she keeps alice's key and, when mallory's own copy reaches her, says who else claims it.
    const seen = await until('carol to report mallory\'s claim', async () => {
      const r = await resolve(carol)
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout).peerId).toBe(aliceId)
      return JSON.parse(r.stdout).alsoClaimedBy.length > 0 ? r : undefined
    })
    expect(JSON.parse(seen.stdout).alsoClaimedBy).toEqual([malloryKey.peerId])
    const text = await carol.cli(['resolve', 'alice@example.org'])
    expect(text.stdout.split('\n')[0]).toBe(aliceId)
    expect(text.stderr).toContain(`also claimed by ${malloryKey.peerId}`)
  })

  it('never resolves a newcomer to the stranger: it keeps alice or reports the conflict', async () => {
    await publish('alice', Date.now())
    const dave = await start('dave@example.org', emilyAddr)
    const r = await resolve(dave)
    if (r.code === 0) expect(JSON.parse(r.stdout).peerId).toBe(aliceId)
    else expect(r.stderr.trim()).toBe(`aurae: alice@example.org is claimed by several keys (${[aliceId, malloryKey.peerId].sort().join(', ')}); peer with the right node to pin the name`)
  })

  it('keeps resolving alice on emily while alice is down', async () => {
    await alice.cli(['down'])
    const r = await resolve(emily)
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).peerId).toBe(aliceId)
  })

  it('keeps nothing but name records: a stranger\'s public-key and provider records are refused', async () => {
    // As many as a stranger likes of each would otherwise stay in the daemons' memory.
    const key = (await generateKeyPair('Ed25519')).publicKey
    const stored: string[] = []
    for await (const e of mallory.services.dht.put(new Uint8Array([...new TextEncoder().encode('/pk/'), ...key.toMultihash().bytes]), publicKeyToProtobuf(key), { signal: AbortSignal.timeout(20_000) })) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE' && ids.has(e.from.toString())) stored.push(e.from.toString())
    }
    expect(stored).toEqual([])
    const cid = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode(`mallory's ${Date.now()}`)))
    const offered: string[] = []
    for await (const e of mallory.services.dht.provide(cid, { signal: AbortSignal.timeout(20_000) })) {
      if (e.name === 'PEER_RESPONSE' && ids.has(e.from.toString())) offered.push(e.from.toString())
    }
    // Mallory did offer it to the nodes (ADD_PROVIDER has no answer; asking is how it finds them).
    expect(offered.length).toBeGreaterThan(0)
    const told: string[] = []
    for await (const e of mallory.services.dht.findProviders(cid, { signal: AbortSignal.timeout(20_000) })) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'GET_PROVIDERS' && ids.has(e.from.toString()) && e.providers.length > 0) told.push(e.from.toString())
    }
    expect(told).toEqual([])
  })

  it('refuses a record whose addresses carry control characters', async () => {
    expect(await publish('mallory', Date.now(), ['/dns4/\x1b[2Jevil/tcp/1'])).toEqual([])
    const r = await carol.cli(['resolve', 'mallory@example.org'])
    expect(r.stdout + r.stderr.slice(0, -1)).not.toMatch(CONTROL)
    expect(r.stderr.trim()).toBe('aurae: no node named mallory@example.org on the mesh')
  })
})
