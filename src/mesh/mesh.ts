// The mesh: a libp2p host inside auraed, peering by token, and remote calls between trusted nodes.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { dcutr } from '@libp2p/dcutr'
import { identify, identifyPush } from '@libp2p/identify'
import { KEEP_ALIVE, type Connection, type Stream } from '@libp2p/interface'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PeerUnreachableError, RemoteError, messageOf } from '../errors.ts'
import { PeerHello, PeerWelcome, RpcRequest, RpcResponse, type NameRecord, type PeerInfo } from '../gen/aurae/mesh/v0/mesh.ts'
import type { Caller } from '../node/authz.ts'
import { toStatus } from '../node/grpc-status.ts'
import type { NodeKey } from '../node/keys.ts'
import type { PeerRecord, Store } from '../store/store.ts'
import { issueToken, readToken } from './token.ts'
import { frame, pacedFrames } from './paced-frames.ts'
import { nameKey, nameSelectors, nameValidators, openNameRecord, signNameRecord } from './names.ts'

export const PEER_PROTOCOL = '/aurae/peer/1.0.0'
export const RPC_PROTOCOL = '/aurae/rpc/1.0.0'
export const KAD_PROTOCOL = '/aurae/kad/1.0.0'
const MAX_FRAME = 4 * 1024 * 1024
const CALL_TIMEOUT_MS = 5_000
const REPUBLISH_MS = 5 * 60_000

export interface MeshInit {
  key: NodeKey
  keyPath: string
  listen: string[]
  bootstrap: string[]
  store: Store
  self: () => { name: string, domain: string }
  /** Serves a call that arrived from a peer, through the same handlers as the local API. */
  dispatch: (path: string, payload: Buffer, caller: Caller, send: (payload: Buffer) => Promise<void>, signal: AbortSignal) => Promise<void>
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: object) => void
}

type Host = Awaited<ReturnType<typeof createHost>>

async function createHost (init: MeshInit) {
  return await createLibp2p({
    privateKey: privateKeyFromProtobuf(readFileSync(init.keyPath)),
    addresses: { listen: init.listen },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    // A paused stream (a slow reader) holds what the window let in: keep that under yamux's 4 MB read buffer.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 2 * 1024 * 1024 } })],
    // A private mesh: peers on private and loopback addresses are the normal case.
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping(),
      dht: kadDHT({ protocol: KAD_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper, validators: nameValidators, selectors: nameSelectors }),
      // Relays are the mesh's own nodes: relayed connections get no data or time cap.
      relay: circuitRelayServer({ reservations: { applyDefaultLimit: false } }),
      dcutr: dcutr(),
      autonat: autoNAT()
    }
  })
}

export class Mesh {
  private host?: Host
  private readonly trusted = new Map<string, PeerRecord>()
  private republish?: NodeJS.Timeout
  private publishing?: Promise<void>
  private publishAgain = false

  constructor (private readonly init: MeshInit) {}

  async start (): Promise<void> {
    for (const p of await this.init.store.peers.values()) this.trusted.set(p.peerId, p)
    let host: Host
    try {
      host = await createHost(this.init)
    } catch (err) {
      throw new FailedPreconditionError(`cannot start the mesh on ${this.init.listen.join(', ')}: ${messageOf(err)}`)
    }
    this.host = host
    await host.handle(PEER_PROTOCOL, async (stream, connection) => await this.onPeer(stream, connection), { runOnLimitedConnection: true })
    await host.handle(RPC_PROTOCOL, async (stream, connection) => await this.onRpc(stream, connection), { runOnLimitedConnection: true })
    const redial = (target: Parameters<Host['dial']>[0], what: string): void => {
      host.dial(target, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) }).catch(err => this.init.log('warn', 'could not dial', { what, err: messageOf(err) }))
    }
    for (const addr of this.init.bootstrap) redial(multiaddr(addr), addr)
    for (const p of this.trusted.values()) {
      await this.remember(p)
      redial(peerIdFromString(p.peerId), p.name)
    }
    // Publish our name now, whenever a peer connects (the DHT may have had no one to store it), and every few minutes.
    host.addEventListener('peer:identify', () => this.publish())
    this.republish = setInterval(() => this.publish(), REPUBLISH_MS).unref()
    this.publish()
    this.init.log('info', 'mesh started', { peerId: host.peerId.toString(), addrs: this.addrs() })
  }

  async stop (): Promise<void> {
    clearInterval(this.republish)
    await this.host?.stop()
  }

  /** Puts this node's signed name record on the DHT; calls while one runs fold into one more run. */
  publish (): void {
    if (this.publishing !== undefined) {
      this.publishAgain = true
      return
    }
    const host = this.host
    const me = this.init.self()
    if (host === undefined || me.name === '') return
    this.publishing = (async () => {
      const record = { name: me.name, domain: me.domain, peerId: this.init.key.peerId, addrs: this.addrs(), seq: Date.now() }
      for await (const _ of host.services.dht.put(nameKey(me.name, me.domain), signNameRecord(this.init.key, record), { signal: AbortSignal.timeout(30_000) })) {}
    })().catch(err => this.init.log('info', 'name not published yet', { err: messageOf(err) })).finally(() => {
      this.publishing = undefined
      if (this.publishAgain) {
        this.publishAgain = false
        this.publish()
      }
    })
  }

  /** Looks a name up on the DHT; a name pinned by peering only ever resolves to the PeerId it was pinned to. */
  async resolve (name: string, domain: string): Promise<NameRecord> {
    const key = nameKey(name, domain)
    const pinned = [...this.trusted.values()].find(p => p.name === name && p.domain === domain)
    const found: NameRecord[] = []
    let refused = ''
    try {
      for await (const event of this.requireHost().services.dht.get(key, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })) {
        if (event.name !== 'VALUE') continue
        try {
          const record = openNameRecord(key, event.value)
          if (pinned !== undefined && record.peerId !== pinned.peerId) refused = record.peerId
          else found.push(record)
        } catch {}
      }
    } catch {}
    const full = domain === '' ? name : `${name}@${domain}`
    if (found.length === 0) {
      if (refused !== '') throw new FailedPreconditionError(`${full} is pinned to ${pinned?.peerId}; a record for it signed by ${refused} was refused`)
      throw new NotFoundError(`no node named ${full} on the mesh`)
    }
    const newest = found.reduce((a, b) => (b.seq > a.seq ? b : a))
    await this.requireHost().peerStore.merge(peerIdFromString(newest.peerId), { multiaddrs: newest.addrs.flatMap(a => { try { return [multiaddr(a)] } catch { return [] } }) }).catch(() => {})
    return newest
  }

  addrs (): string[] {
    return this.host?.getMultiaddrs().map(a => a.toString()) ?? []
  }

  trusts (peerId: string): boolean {
    return this.trusted.has(peerId)
  }

  nameOf (peerId: string): string {
    const p = this.trusted.get(peerId)
    return p === undefined ? '' : p.name
  }

  /** How others can reach us: addresses they observed, and whether a direct one is confirmed or we rely on a relay. */
  reachability (): { observed: string[], reachability: 'public' | 'private' | 'unknown' } {
    const host = this.host as unknown as { components?: { addressManager?: { getObservedAddrs: () => Multiaddr[], getAddressesWithMetadata: () => Array<{ multiaddr: Multiaddr, verified: boolean, type: string }> } } } | undefined
    const am = host?.components?.addressManager
    if (am === undefined) return { observed: [], reachability: 'unknown' }
    const observed = am.getObservedAddrs().map(a => a.toString())
    if (this.addrs().some(a => a.includes('/p2p-circuit'))) return { observed, reachability: 'private' }
    // Listen addresses count as verified by default; only what AutoNAT confirmed from outside says public.
    const confirmed = am.getAddressesWithMetadata().filter(a => a.verified && a.type !== 'transport')
    return { observed, reachability: confirmed.length > 0 ? 'public' : 'unknown' }
  }

  trustedCount (): number {
    return this.trusted.size
  }

  connectedCount (): number {
    return this.host?.getPeers().length ?? 0
  }

  /** Issues a token for this node; only the hash of its secret is kept. */
  async token (ttlSeconds: number, uses: number): Promise<{ token: string, expiresAt: number }> {
    const addrs = this.addrs()
    if (addrs.length === 0) throw new FailedPreconditionError('the mesh has no addresses to put in a token')
    const expiresAt = Date.now() + ttlSeconds * 1000
    const { token, claims } = issueToken(this.init.key, { ...this.init.self(), addrs, expiresAtMs: expiresAt })
    await this.init.store.tokens.put(tokenId(claims.secret), { id: tokenId(claims.secret), usesLeft: uses, expiresAt })
    return { token, expiresAt }
  }

  /** Redeems another node's token: dials it, proves the secret, and both sides record the other as trusted. */
  async redeem (text: string): Promise<PeerRecord> {
    const claims = readToken(text)
    if (claims.peerId === this.init.key.peerId) throw new InvalidArgumentError('this token was issued by this node; redeem it on the other one')
    const issuer = peerIdFromString(claims.peerId)
    const addrs = claims.addrs.map(a => withPeer(multiaddr(a), claims.peerId))
    let stream: Stream
    try {
      stream = await this.requireHost().dialProtocol(addrs, PEER_PROTOCOL, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS), runOnLimitedConnection: true })
    } catch (err: any) {
      if (err?.name === 'UnexpectedPeerError' || /unexpected peer|remote peer id|does not match expected remote identity/i.test(String(err?.message))) {
        throw new FailedPreconditionError(`the node answering at ${claims.addrs[0].replace(/\/p2p\/.*$/, '')} is not the one that issued this token (${claims.name})`)
      }
      throw new PeerUnreachableError(`cannot reach ${claims.name} at ${claims.addrs.join(', ')}: ${messageOf(err)}`)
    }
    if (stream.protocol !== PEER_PROTOCOL) stream.abort(new Error('wrong protocol'))
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
    const me = this.init.self()
    await lp.write(PeerHello.encode({ secret: Buffer.from(claims.secret), name: me.name, domain: me.domain, addrs: this.addrs(), unpeer: false }).finish())
    const welcome = PeerWelcome.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray())
    await stream.close().catch(() => {})
    if (welcome.error !== '') throw new FailedPreconditionError(`${claims.name} refused: ${welcome.error}`)
    const record = { peerId: issuer.toString(), name: welcome.name, domain: welcome.domain, addrs: claims.addrs, trustedAt: Date.now() }
    await this.trust(record)
    return record
  }

  /** Withdraws trust here and, if it can be reached, on the other side too. */
  async unpeer (who: string): Promise<boolean> {
    const record = this.lookup(who)
    await this.forget(record.peerId)
    let notified = false
    try {
      const stream = await this.requireHost().dialProtocol(peerIdFromString(record.peerId), PEER_PROTOCOL, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS), runOnLimitedConnection: true })
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      const me = this.init.self()
      await lp.write(PeerHello.encode({ secret: Buffer.alloc(0), name: me.name, domain: me.domain, addrs: [], unpeer: true }).finish())
      notified = PeerWelcome.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray()).error === ''
      await stream.close().catch(() => {})
    } catch {}
    await this.requireHost().hangUp(peerIdFromString(record.peerId)).catch(() => {})
    return notified
  }

  /** Trusted peers with their connection state and, when connected, a fresh round trip. */
  async peers (): Promise<PeerInfo[]> {
    const host = this.requireHost()
    return await Promise.all([...this.trusted.values()].map(async p => {
      const id = peerIdFromString(p.peerId)
      const connected = host.getConnections(id).length > 0
      let latencyMs = -1
      if (connected) latencyMs = await host.services.ping.ping(id, { signal: AbortSignal.timeout(1000) }).catch(() => -1)
      const addrs = host.getConnections(id).map(c => c.remoteAddr.toString())
      return { name: p.name, domain: p.domain, peerId: p.peerId, addrs: addrs.length > 0 ? addrs : p.addrs, connected, latencyMs, trustedAtMs: p.trustedAt }
    }))
  }

  /** Finds a trusted peer by `name[@domain]` or PeerId. */
  lookup (who: string): PeerRecord {
    const byId = this.trusted.get(who)
    if (byId !== undefined) return byId
    const [name, domain = ''] = who.split('@')
    const found = [...this.trusted.values()].filter(p => p.name === name && (domain === '' || p.domain === domain))
    if (found.length === 1) return found[0]
    if (found.length > 1) throw new InvalidArgumentError(`${who} is ambiguous: say which domain (${found.map(p => `${p.name}@${p.domain}`).join(', ')})`)
    throw new NotFoundError(`no trusted peer named ${who}; peer first with "aurae proxy"`)
  }

  /** Sends one call to a trusted peer over /aurae/rpc/1.0.0 and hands back its responses. */
  async forward (who: string, path: string, payload: Buffer, onPayload: (payload: Buffer) => Promise<void>, signal: AbortSignal): Promise<void> {
    const record = this.lookup(who)
    let stream: Stream
    try {
      stream = await this.requireHost().dialProtocol(peerIdFromString(record.peerId), RPC_PROTOCOL, { signal: AbortSignal.any([signal, AbortSignal.timeout(CALL_TIMEOUT_MS)]), runOnLimitedConnection: true })
    } catch (err) {
      // A connection that cannot open a stream in time is dead even if libp2p has not noticed: drop it, so the next call redials.
      await this.requireHost().hangUp(peerIdFromString(record.peerId)).catch(() => {})
      throw new PeerUnreachableError(`${who} is unreachable: ${messageOf(err)}`)
    }
    const onAbort = (): void => stream.abort(new Error('the caller went away'))
    signal.addEventListener('abort', onAbort)
    try {
      stream.send(frame(RpcRequest.encode({ method: path, payload, callerName: this.init.self().name }).finish()))
      // Read at the caller's pace: a slow caller (an attached run piped into something slow) slows the peer.
      let ended = false
      for await (const bytes of pacedFrames(stream, MAX_FRAME)) {
        const res = RpcResponse.decode(bytes)
        if (!res.end) {
          await onPayload(Buffer.from(res.payload))
          continue
        }
        if (res.code !== 0) throw new RemoteError(res.error, res.code)
        ended = true
        break
      }
      if (!ended) throw new Error('the peer closed the call without an answer')
      await stream.close().catch(() => {})
    } catch (err) {
      if (err instanceof RemoteError) throw err
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' })
      await this.requireHost().hangUp(peerIdFromString(record.peerId)).catch(() => {})
      throw new PeerUnreachableError(`lost ${who} during the call: ${messageOf(err)}`)
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private requireHost (): Host {
    if (this.host === undefined) throw new FailedPreconditionError('the mesh is not running')
    return this.host
  }

  private async trust (record: PeerRecord): Promise<void> {
    const pinned = [...this.trusted.values()].find(p => p.name === record.name && p.domain === record.domain && p.peerId !== record.peerId)
    if (pinned !== undefined) throw new FailedPreconditionError(`the name ${record.name} is pinned to another node (${pinned.peerId})`)
    this.trusted.set(record.peerId, record)
    await this.init.store.peers.put(record.peerId, record)
    await this.remember(record)
    this.init.log('info', 'peer trusted', { name: record.name, peerId: record.peerId })
  }

  private async forget (peerId: string): Promise<void> {
    const record = this.trusted.get(peerId)
    this.trusted.delete(peerId)
    await this.init.store.peers.del(peerId)
    await this.host?.peerStore.merge(peerIdFromString(peerId), { tags: { [KEEP_ALIVE]: undefined } }).catch(() => {})
    if (record !== undefined) this.init.log('info', 'peer no longer trusted', { name: record.name, peerId })
  }

  /** Keeps a trusted peer's addresses and asks libp2p to keep (and restore) a connection to it. */
  private async remember (record: PeerRecord): Promise<void> {
    const addrs = record.addrs.flatMap(a => { try { return [multiaddr(a)] } catch { return [] } })
    await this.host?.peerStore.merge(peerIdFromString(record.peerId), { multiaddrs: addrs, tags: { [KEEP_ALIVE]: { value: 1 } } })
  }

  /** The issuer's side of peering (and of unpeering). */
  private async onPeer (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
    const remote = connection.remotePeer.toString()
    const me = this.init.self()
    try {
      const hello = PeerHello.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray())
      let error = ''
      if (hello.unpeer) {
        if (this.trusted.has(remote)) await this.forget(remote)
      } else {
        error = await this.admit(remote, hello)
      }
      await lp.write(PeerWelcome.encode({ error, name: me.name, domain: me.domain }).finish())
      await stream.close()
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** Checks a redeemer's secret against the tokens issued here; trusts it if one matches. Returns the refusal, if any. */
  private async admit (remote: string, hello: PeerHello): Promise<string> {
    const id = tokenId(hello.secret)
    const token = await this.init.store.tokens.get(id)
    if (token === undefined) return `${this.init.self().name} did not issue this token`
    if (token.expiresAt <= Date.now()) return 'this peering token has expired'
    if (token.usesLeft <= 0) return 'this peering token has already been used'
    try {
      await this.trust({ peerId: remote, name: hello.name, domain: hello.domain, addrs: hello.addrs, trustedAt: Date.now() })
    } catch (err) {
      return messageOf(err)
    }
    await this.init.store.tokens.put(id, { ...token, usesLeft: token.usesLeft - 1 })
    return ''
  }

  /** The callee's side of a remote call: one request frame in, response frames out, then the end. */
  private async onRpc (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    const remote = connection.remotePeer.toString()
    const ac = new AbortController()
    stream.addEventListener('close', () => ac.abort())
    const respond = async (res: Partial<RpcResponse>): Promise<void> => {
      await lp.write(RpcResponse.encode({ payload: Buffer.alloc(0), code: 0, error: '', end: false, ...res }).finish())
    }
    try {
      let req: RpcRequest
      try {
        req = RpcRequest.decode((await lp.read({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })).subarray())
      } catch (err) {
        throw Object.assign(new Error(`malformed or oversized request frame: ${messageOf(err)}`), { name: 'InvalidArgumentError' })
      }
      const caller: Caller = { kind: 'peer', peerId: remote, name: this.nameOf(remote) || req.callerName }
      await this.init.dispatch(req.method, Buffer.from(req.payload), caller, async payload => await respond({ payload }), ac.signal)
      await respond({ end: true })
      await stream.close()
    } catch (err) {
      if (ac.signal.aborted) return
      const status = toStatus(err)
      await respond({ end: true, code: status.code, error: status.details }).catch(() => {})
      await stream.close().catch(() => stream.abort(new Error('closed')))
    }
  }
}

function tokenId (secret: Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex')
}

function withPeer (addr: Multiaddr, peerId: string): Multiaddr {
  return addr.toString().includes('/p2p/') ? addr : multiaddr(`${addr.toString()}/p2p/${peerId}`)
}
