// The original Aurae's way of asking whether a node is there and well: aurae.discovery.v0.DiscoveryService, and
// gRPC's standard health service (grpc.health.v1.Health) for the node as a whole ("") and each service it serves,
// by its full name. Every service is the daemon's, so each one's status is the daemon's: serving once the node is up,
// not while it is uninitialized or going down. Both are served before `aurae up` (that is when "not serving" is
// news) and to trusted peers.
import type { DiscoveryServiceService } from '../../gen/aurae/discovery/v0/discovery.ts'
import { HealthCheckResponse_ServingStatus as Status, type HealthService } from '../../gen/grpc/health/v1/health.ts'
import { setTimeout as sleep } from 'node:timers/promises'
import { NotFoundError } from '../../errors.ts'
import type { NodeControl } from './node.ts'
import type { Handlers } from './serve.ts'

/** How often a Watch looks at the daemon's state for a change. */
const WATCH_EVERY_MS = 250

export function discoveryHandlers (daemon: Pick<NodeControl, 'state' | 'version'>): Handlers<typeof DiscoveryServiceService> {
  return {
    discover: {
      access: 'peers',
      beforeUp: true,
      unary: async () => ({ healthy: daemon.state === 'running', version: daemon.version })
    }
  }
}

/** `served`: the full names of the services the node serves (`aurae.workloads.v0.WorkloadService`, …). */
export function healthHandlers (daemon: Pick<NodeControl, 'state'>, served: () => string[]): Handlers<typeof HealthService> {
  const known = (service: string): boolean => service === '' || served().includes(service)
  const status = (): Status => daemon.state === 'running' ? Status.SERVING : Status.NOT_SERVING
  return {
    check: {
      access: 'peers',
      beforeUp: true,
      unary: async req => {
        if (!known(req.service)) throw new NotFoundError(`this node serves no service named ${JSON.stringify(req.service)}`)
        return { status: status() }
      }
    },
    watch: {
      access: 'peers',
      beforeUp: true,
      stream: async (req, send, signal) => {
        // The services a node serves do not change while it runs: an unknown one stays unknown.
        let last: Status | undefined
        while (!signal.aborted) {
          const now = known(req.service) ? status() : Status.SERVICE_UNKNOWN
          if (now !== last) await send({ status: now })
          last = now
          await sleep(WATCH_EVERY_MS, undefined, { signal }).catch(() => {})
        }
      }
    }
  }
}
