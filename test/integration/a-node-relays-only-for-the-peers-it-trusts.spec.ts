import { setTimeout as sleep } from 'node:timers/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { FaultTolerance, type PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, type TestNode } from '../helpers/node.ts'
import { openPeering, secretOf } from '../helpers/stranger.ts'

describe('a node relays only for the peers it trusts', () => {
  let emily: TestNode
  let emilyId: string
  let emilyAddr: string
  const nodes: Libp2p[] = []
  beforeAll(async () => {
    emily = await startNode('emily@example.org')
    const status = JSON.parse((await emily.cli(['status', '--json'])).stdout)
    emilyId = status.peerId
    emilyAddr = status.mesh.addrs[0]
  })
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.stop()
    // libp2p takes at most 5 new connections a second from one address; each test opens up to 4.
    await sleep(1100)
  })
  afterAll(async () => {
    await emily?.stop()
  })

  const slotOnEmily = (): string => `${emilyAddr}/p2p-circuit`
  /** A libp2p node that can dial and listen through relays; with `listen` it asks emily for a slot when it starts. */
  const relayClient = async (opts: { listen?: boolean, key?: PrivateKey, mayFail?: boolean } = {}): Promise<Libp2p> => {
    const node = await createLibp2p({
      privateKey: opts.key,
      start: false,
      addresses: { listen: opts.listen === true ? [slotOnEmily()] : [] },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      transportManager: { faultTolerance: opts.mayFail === true ? FaultTolerance.NO_FATAL : FaultTolerance.FATAL_ALL },
      services: { identify: identify() }
    })
    nodes.push(node)
    return node
  }
  const via = (dest: Libp2p): ReturnType<typeof multiaddr> => multiaddr(`${slotOnEmily()}/p2p/${dest.peerId.toString()}`)

  it('refuses a slot to strangers', async () => {
    for (let i = 0; i < 2; i++) {
      const s = await relayClient({ listen: true })
      await expect(s.start()).rejects.toThrow(/reservation failed with status PERMISSION_DENIED/)
    }
  })

  it('refuses to relay a stranger to another stranger', async () => {
    const hidden = await relayClient({ listen: true, mayFail: true })
    await hidden.start()
    await until('the stranger to be connected to emily', () => hidden.getConnections().some(c => c.remotePeer.toString() === emilyId))
    expect(hidden.getMultiaddrs().filter(a => a.toString().includes('/p2p-circuit'))).toEqual([])
    const caller = await relayClient()
    await caller.start()
    await expect(caller.dial(via(hidden), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/NO_RESERVATION|PERMISSION_DENIED/)
  })

  it('gives a trusted peer a slot, relays anyone to it, and stops once trust is withdrawn', async () => {
    const key = await generateKeyPair('Ed25519')
    // Peer with emily first, with the key the relayed node will use.
    const peering = await relayClient({ key })
    await peering.start()
    const token = (await emily.cli(['proxy'])).stdout.trim()
    expect(await (await openPeering(peering, emilyAddr)).send({ secret: secretOf(token), name: 'hidden', domain: 'example.org' })).toMatchObject({ error: '' })
    await peering.stop()

    const hidden = await relayClient({ listen: true, key })
    await hidden.start()
    expect(hidden.getMultiaddrs().some(a => a.toString().startsWith(`${emilyAddr}/p2p-circuit/p2p/`))).toBe(true)
    // A stranger to emily, such as a peer of hidden's own, reaches it through emily.
    const caller = await relayClient()
    await caller.start()
    const conn = await caller.dial(via(hidden), { signal: AbortSignal.timeout(10_000) })
    expect(conn.remotePeer.toString()).toBe(hidden.peerId.toString())

    // hidden withdraws trust; its connection to emily stays, but emily relays no one to it any more.
    await (await openPeering(hidden, emilyAddr)).send({ unpeer: true, name: 'hidden', domain: 'example.org' })
    await until('emily to forget hidden', async () => JSON.parse((await emily.cli(['peers', '--json'])).stdout).length === 0)
    const late = await relayClient()
    await late.start()
    await expect(late.dial(via(hidden), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/NO_RESERVATION|PERMISSION_DENIED/)
  })
})
