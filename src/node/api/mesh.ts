// MeshService: peering tokens, trusted peers.
import { InvalidArgumentError } from '../../errors.ts'
import { MeshServiceService } from '../../gen/aurae/mesh/v0/mesh.ts'
import type { Mesh } from '../../mesh/mesh.ts'
import type { Handlers } from './serve.ts'
import { parseNodeName } from '../../names/parse.ts'

const MAX_TTL_S = 30 * 24 * 3600

export function meshHandlers (mesh: () => Mesh, ownDomain: () => string): Handlers<typeof MeshServiceService> {
  return {
    token: {
      access: 'local',
      unary: async req => {
        const ttl = req.ttlSeconds ?? 3600
        const uses = req.uses ?? 1
        if (ttl < 1 || ttl > MAX_TTL_S) throw new InvalidArgumentError(`invalid ttl: between 1 second and 30 days`)
        if (uses < 1 || uses > 1000) throw new InvalidArgumentError(`invalid uses: between 1 and 1000`)
        const { token, expiresAt, warning } = await mesh().token(ttl, uses)
        return { token, expiresAtMs: expiresAt, warning }
      }
    },
    peer: {
      access: 'local',
      unary: async req => {
        // The new peer as `peers` shows it, less the round trip: peering has just shown the path works.
        return { peer: await mesh().peerInfo(await mesh().redeem(req.token), { measure: false }) }
      }
    },
    peers: {
      access: 'local',
      unary: async () => ({ peers: await mesh().peers() })
    },
    resolve: {
      access: 'local',
      unary: async req => {
        const [name, domain] = req.name.includes('@') ? [req.name.slice(0, req.name.indexOf('@')), req.name.slice(req.name.indexOf('@') + 1)] : [req.name, ownDomain()]
        parseNodeName(domain === '' ? name : `${name}@${domain}`)
        const { record, others, pinned } = await mesh().resolve(name, domain)
        return { record, alsoClaimedBy: others, pinned }
      }
    },
    unpeer: {
      access: 'local',
      unary: async req => ({ notified: await mesh().unpeer(req.peer) })
    }
  }
}
