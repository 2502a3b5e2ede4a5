// NodeService: status, up (name and key material), down.
import { NodeServiceService } from '../../gen/aurae/node/v0/node.ts'
import { parseNodeName } from '../../names/parse.ts'
import { VERSION } from '../config.ts'
import type { Daemon } from '../daemon.ts'
import type { Handlers } from './serve.ts'

export function nodeHandlers (daemon: Daemon): Handlers<typeof NodeServiceService> {
  return {
    status: {
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
          version: VERSION,
          pid: process.pid,
          workloads: { running, exited: all.length - running, total: all.length },
          cgroups: rt?.cgroups.version ?? '',
          socket: daemon.opts.paths.sock,
          dataDir: daemon.opts.paths.data,
          keyPath: daemon.opts.paths.key,
          addrs: rt?.mesh.addrs() ?? [],
          connectedPeers: rt?.mesh.connectedCount() ?? 0,
          trustedPeers: rt?.mesh.trustedCount() ?? 0,
          observedAddrs: rt?.mesh.reachability().observed ?? [],
          reachability: rt?.mesh.reachability().reachability ?? '',
          reachabilityCheckedAtMs: rt?.mesh.reachability().checkedAt ?? 0
        }
      }
    },
    up: {
      unary: async req => {
        const { peer, domain } = parseNodeName(req.domain === '' ? req.name : `${req.name}@${req.domain}`)
        const { outcome, keyCreated } = await daemon.up(peer, domain, req.rename)
        return { name: peer, domain, peerId: daemon.key?.peerId ?? '', outcome, keyCreated }
      }
    },
    down: {
      unary: async req => {
        return { stopped: await daemon.shutdown(!req.keepWorkloads) }
      }
    }
  }
}
