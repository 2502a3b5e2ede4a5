// ImageService: pull, list, remove, prune, login, disk usage.
import { ImageServiceService, type Image } from '../../gen/aurae/images/v0/images.ts'
import type { ImageRecord, Images } from '../../runtime/image/images.ts'
import type { ImageUser } from '../../runtime/image/unpacked-roots.ts'
import type { Supervisor } from '../../runtime/supervisor.ts'
import { imageOf } from '../../runtime/workload.ts'
import { byPeer, type Handlers, type Route } from './serve.ts'

function imageToProto (r: ImageRecord): Image {
  return { ...r, pulledAtMs: r.pulledAt }
}

/** Requests whose `reference` names the image and, with `@peer`, the node. */
function byReference<Q extends { reference: string }> (): Route<Q> {
  return { get: req => req.reference, set: (req, reference) => ({ ...req, reference }) }
}

/** Every workload on record with the image it uses ('' for an executable), so images in use are kept. */
function usersOf (supervisor: Supervisor): ImageUser[] {
  return supervisor.list(true).map(r => ({
    workload: r.spec.name,
    image: imageOf(r.spec),
    running: r.state === 'running' || r.state === 'restarting',
    pids: [r.pid, r.monitorPid]
  }))
}

export function imageHandlers (images: () => Images, supervisor: () => Supervisor): Handlers<typeof ImageServiceService> {
  return {
    pull: {
      access: 'peers',
      route: byReference(),
      // The call's signal ends the pull when its client goes away.
      stream: async (req, send, signal) => {
        let pending = Promise.resolve()
        const image = await images().pull(req.reference, p => { pending = pending.then(async () => await send({ progress: p })).catch(() => {}) }, signal)
        await pending
        await send({ image: imageToProto(image) })
      }
    },
    list: {
      access: 'peers',
      route: byPeer(),
      unary: async () => ({ images: (await images().list()).map(imageToProto) })
    },
    remove: {
      access: 'peers',
      route: byReference(),
      unary: async req => ({ image: imageToProto(await images().remove(req.reference, usersOf(supervisor()), req.force)) })
    },
    prune: {
      access: 'peers',
      route: byPeer(),
      unary: async () => await images().prune(usersOf(supervisor()))
    },
    login: {
      access: 'local',
      unary: async req => {
        await images().login(req.registry, req.username, req.password)
        return {}
      }
    },
    diskUsage: {
      access: 'peers',
      route: byPeer(),
      unary: async () => ({ rows: await images().diskUsage(usersOf(supervisor())) })
    }
  }
}
