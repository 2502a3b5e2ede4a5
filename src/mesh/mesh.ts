// The mesh as the node sees it: one object over the libp2p host. Peering, remote calls, names, reachability and NAT
// traversal are libp2p services (peering.ts, rpc.ts, name-service.ts, reachability.ts, nat.ts) that host.ts
// registers; this starts the host, joins the mesh, and hands each call to the service that owns it.
import { listenFailure } from './listen-error.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { FailedPreconditionError, messageOf } from '../errors.ts'
import type { Component } from '../lifecycle.ts'
import type { PeerInfo } from '../gen/aurae/mesh/v0/mesh.ts'
import type { Table } from '../store/store.ts'
import { reachableAt } from './addresses.ts'
import { peerInfo } from './connection-view.ts'
import { createHost, type Host } from './host.ts'
import type { NodeKey } from './keys.ts'
import type { Resolved } from './name-service.ts'
import { CALL_TIMEOUT_MS } from './open-stream.ts'
import type { ReachabilityStatus } from './reachability.ts'
import type { Dispatch } from './rpc.ts'
import type { TokenRecord } from './token.ts'
import { TrustedPeers, type PeerRecord } from './trusted.ts'

export { KAD_PROTOCOL } from './host.ts'
export { createKey, loadKey, type NodeKey } from './keys.ts'
export { PEER_PROTOCOL } from './peering.ts'
export { RPC_PROTOCOL, type PeerCaller } from './rpc.ts'
export type { Resolved } from './name-service.ts'
export type { TokenRecord } from './token.ts'
export type { PeerRecord } from './trusted.ts'

export interface MeshInit {
  key: NodeKey
  listen: string[]
  bootstrap: string[]
  /** The mesh's tables: the peers it trusts, and the tokens it issued. */
  peers: Table<PeerRecord>
  tokens: Table<TokenRecord>
  self: () => { name: string, domain: string }
  /** Serves a call that arrived from a peer, through the same handlers as the local API. */
  dispatch: Dispatch
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: object) => void
}

export class Mesh implements Component {
  private host?: Host
  private stopped = false
  private readonly trusted: TrustedPeers

  constructor (private readonly init: MeshInit) {
    this.trusted = new TrustedPeers(init.peers)
  }

  /** Starts the host and its services, then joins the mesh: bootstrap nodes, trusted peers, our name on the DHT. */
  async start (): Promise<void> {
    await this.trusted.load()
    let host: Host
    try {
      host = await createHost({ key: this.init.key, listen: this.init.listen, trusted: this.trusted, tokens: this.init.tokens, self: this.init.self, dispatch: this.init.dispatch, log: this.init.log })
    } catch (err) {
      throw new FailedPreconditionError(await listenFailure(this.init.listen, messageOf(err)))
    }
    this.host = host
    for (const addr of this.init.bootstrap) {
      host.dial(multiaddr(addr), { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) }).catch(err => this.init.log('warn', 'could not dial', { what: addr, err: messageOf(err) }))
    }
    await host.services.peering.connectTrusted()
    host.services.names.publish()
    this.init.log('info', 'mesh started', { peerId: host.peerId.toString(), addrs: this.addrs() })
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.host?.stop()
  }

  /** Whether the mesh has started (and not stopped). */
  get running (): boolean {
    return this.host !== undefined && !this.stopped
  }

  /** Where others can reach this node (see reachableAt). */
  addrs (): string[] {
    return this.host === undefined ? [] : reachableAt(this.host.getMultiaddrs())
  }

  trusts (peerId: string): boolean {
    return this.trusted.has(peerId)
  }

  /** Whether calls from the peer may be served (see TrustedPeers.mayCall): a nested node's never are. */
  mayCall (peerId: string): boolean {
    return this.trusted.mayCall(peerId)
  }

  /** How others can reach us, as trusted peers' dial-backs told it (see reachability.ts). */
  reachability (): ReachabilityStatus {
    return this.host?.services.reachability.status() ?? { observed: [], reachability: 'unknown', checkedAt: 0 }
  }

  trustedCount (): number {
    return this.trusted.size
  }

  connectedCount (): number {
    return this.host?.getPeers().length ?? 0
  }

  /** Issues a token for this node (see PeeringService.token). */
  async token (ttlSeconds: number, uses: number): Promise<{ token: string, expiresAt: number, warning: string }> {
    return await this.services().peering.token(ttlSeconds, uses)
  }

  /** Redeems another node's token: both sides then trust each other. */
  async redeem (text: string): Promise<PeerRecord> {
    return await this.services().peering.redeem(text)
  }

  /** Trusts a peer known without a token (see PeeringService.adopt): a nested node, or the host of one. */
  async adopt (record: PeerRecord): Promise<void> {
    await this.services().peering.adopt(record)
  }

  /** Dials a peer at the addresses the node knows for it; resolves once connected. */
  async connect (peerId: string, signal: AbortSignal): Promise<void> {
    await this.requireHost().dial(peerIdFromString(peerId), { signal })
  }

  /** Withdraws the trust `adopt` gave. */
  async disown (peerId: string): Promise<void> {
    await this.services().peering.disown(peerId)
  }

  /** Withdraws trust here and, if it can be reached, on the other side too. */
  async unpeer (who: string): Promise<boolean> {
    return await this.services().peering.unpeer(who)
  }

  /** Trusted peers with their connection (direct or relayed, where, since when) and, when connected, a fresh round trip. */
  async peers (): Promise<PeerInfo[]> {
    return await Promise.all(this.trusted.values().map(async p => await this.peerInfo(p)))
  }

  /** One trusted peer as `peers` shows it; with `measure`, a fresh round trip on its connection. */
  async peerInfo (p: PeerRecord, opts: { measure: boolean } = { measure: true }): Promise<PeerInfo> {
    const host = this.requireHost()
    return await peerInfo({ getConnections: peer => host.getConnections(peer), peerStore: host.peerStore, ping: host.services.ping }, p, opts.measure)
  }

  /** Finds a trusted peer by `name[@domain]` or PeerId. */
  lookup (who: string): PeerRecord {
    return this.trusted.lookup(who)
  }

  /** Sends one call to a trusted peer and hands back its responses (see RpcService.forward). */
  async forward (who: string, path: string, payload: Buffer, onPayload: (payload: Buffer) => Promise<void>, signal: AbortSignal, input?: AsyncIterable<Buffer>): Promise<void> {
    await this.services().rpc.forward(who, path, payload, onPayload, signal, input)
  }

  /** Looks a name up on the DHT (see NameService.resolve). */
  async resolve (name: string, domain: string): Promise<Resolved> {
    return await this.services().names.resolve(name, domain)
  }

  private services (): Host['services'] {
    return this.requireHost().services
  }

  private requireHost (): Host {
    if (this.host === undefined) throw new FailedPreconditionError('the mesh is not running')
    return this.host
  }
}
