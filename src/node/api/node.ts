// NodeService: status, up (name and key material), down.
import { NodeServiceService } from '../../gen/aurae/node/v0/node.ts'
import { parseNodeName } from '../../names/parse.ts'
import type { Mesh } from '../../mesh/mesh.ts'
import type { Cgroups } from '../../runtime/cgroups.ts'
import type { Supervisor } from '../../runtime/supervisor.ts'
import type { Handlers } from './serve.ts'

/** What NodeService asks of the node (the daemon provides it). */
export interface NodeControl {
  readonly version: string
  readonly state: 'uninitialized' | 'running' | 'stopping'
  readonly startedAt: number
  readonly meta?: { name: string, domain: string }
  readonly key?: { peerId: string }
  /** `tls`: the mTLS socket and its certificates, when the node serves one. */
  readonly opts: { paths: { sock: string, data: string, key: string }, tls?: { sock: string, pki: string } }
  /** The runtime; only there while the node is running. */
  readonly active: { supervisor: Pick<Supervisor, 'list'>, cgroups: Pick<Cgroups, 'version' | 'reason'>, mesh: Pick<Mesh, 'addrs' | 'connectedCount' | 'trustedCount' | 'reachability'> }
  up: (name: string, domain: string, rename: boolean) => Promise<{ outcome: 'created' | 'unchanged' | 'renamed', keyCreated: boolean }>
  shutdown: (stopWorkloads: boolean) => Promise<number>
}

export function nodeHandlers (daemon: NodeControl): Handlers<typeof NodeServiceService> {
  return {
    status: {
      access: 'peers',
      beforeUp: true,
      unary: async () => {
        const rt = daemon.state === 'running' ? daemon.active : undefined
        const all = rt?.supervisor.list(true) ?? []
        const running = all.filter(w => w.state === 'running' || w.state === 'restarting').length
        return {
          state: daemon.state,
          name: daemon.meta?.name ?? '',
          domain: daemon.meta?.domain ?? '',
          peerId: daemon.key?.peerId ?? '',
          startedAtMs: daemon.startedAt,
          version: daemon.version,
          pid: process.pid,
          workloads: { running, exited: all.length - running, total: all.length },
          cgroups: rt?.cgroups.version ?? '',
          socket: daemon.opts.paths.sock,
          dataDir: daemon.opts.paths.data,
          tlsSocket: daemon.opts.tls?.sock ?? '',
          pkiDir: daemon.opts.tls?.pki ?? '',
          keyPath: daemon.opts.paths.key,
          addrs: rt?.mesh.addrs() ?? [],
          connectedPeers: rt?.mesh.connectedCount() ?? 0,
          trustedPeers: rt?.mesh.trustedCount() ?? 0,
          observedAddrs: rt?.mesh.reachability().observed ?? [],
          reachability: rt?.mesh.reachability().reachability ?? '',
          reachabilityCheckedAtMs: rt?.mesh.reachability().checkedAt ?? 0,
          cgroupsProblem: rt?.cgroups.reason ?? ''
        }
      }
    },
    up: {
      access: 'local',
      beforeUp: true,
      unary: async req => {
        const { peer, domain } = parseNodeName(req.domain === '' ? req.name : `${req.name}@${req.domain}`)
        const { outcome, keyCreated } = await daemon.up(peer, domain, req.rename)
        return { name: peer, domain, peerId: daemon.key?.peerId ?? '', outcome, keyCreated }
      }
    },
    down: {
      access: 'local',
      beforeUp: true,
      unary: async req => {
        return { stopped: await daemon.shutdown(!req.keepWorkloads) }
      }
    }
  }
}
