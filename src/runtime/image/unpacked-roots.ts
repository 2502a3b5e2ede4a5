// The images' unpacked roots under `<data>/rootfs/<config hex>`: which ones something still uses, and
// removing the others, so `rmi` and `image prune` give their disk back.
import { lstat, readFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

/** A workload's claim on an image, as the node's API gathers it from the supervisor's records. */
export interface ImageUser {
  workload: string
  /** The full image reference of the container's spec. */
  image: string
  running: boolean
  /** The run's processes, whose mount namespace holds the overlay over its root. */
  pids: number[]
  /** The image the container was made from, as its note says: what it needs even once that image is removed. */
  held?: StoredImage
}

/** What of an image record says which blobs and root it holds (images.ts's ImageRecord has these). */
export interface StoredImage {
  name: string
  digest: string
  manifest: string
  config: string
  layers: Array<{ digest: string }>
}

const ROOT = /^[a-f0-9]{64}$/

/** The file in a container's directory naming the image it was made from; it stays until the container is removed. */
export const IMAGE_NOTE = 'image.json'

/** A container's directory: its bundle while it runs, its writable layer and image note until it is removed. */
export function containerDir (dataDir: string, workload: string): string {
  return join(dataDir, 'containers', workload)
}

/** The image a container's note names, if it has a readable one. */
export async function noteOf (dataDir: string, workload: string): Promise<StoredImage | undefined> {
  try {
    const held = JSON.parse(await readFile(join(containerDir(dataDir, workload), IMAGE_NOTE), 'utf8')) as StoredImage
    return typeof held.config === 'string' && Array.isArray(held.layers) ? held : undefined
  } catch {
    return undefined
  }
}

/** The users with the image each container holds, as Docker keeps a force-removed image's layers while a container uses them. */
export async function withHeldImages (dataDir: string, users: ImageUser[]): Promise<ImageUser[]> {
  return await Promise.all(users.map(async u => u.image === '' ? u : { ...u, held: await noteOf(dataDir, u.workload) }))
}

/** Every blob an image is made of: its index or manifest, config and layers. */
export function blobsOf (image: StoredImage): string[] {
  return [image.digest, image.manifest, image.config, ...image.layers.map(l => l.digest)]
}

/** Where the unpacked roots live; the container driver unpacks into it. */
export function rootsDir (dataDir: string): string {
  return join(dataDir, 'rootfs')
}

/** The unpacked roots on disk (not the ones an unpack is still making), by config hex. */
export async function listRoots (dataDir: string): Promise<string[]> {
  return (await readdir(rootsDir(dataDir)).catch(() => [] as string[])).filter(f => ROOT.test(f))
}

/** The root (config hex) each running container mounted, read from its processes' mount tables. */
async function mountedRoots (dataDir: string, users: ImageUser[]): Promise<Set<string>> {
  const found = new Set<string>()
  const lower = new RegExp(`[ ,]lowerdir=${rootsDir(dataDir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([a-f0-9]{64})/`, 'g')
  for (const u of users) {
    if (!u.running) continue
    for (const pid of u.pids.filter(p => p > 0)) {
      const mounts = await readFile(`/proc/${pid}/mounts`, 'utf8').catch(() => '')
      for (const m of mounts.matchAll(lower)) found.add(m[1])
    }
  }
  return found
}

/**
 * Roots something needs: an image's still on record, one a workload's image names, one a container was made from
 * (running or exited, its image removed or not), one a running container mounted.
 */
export async function rootsInUse (dataDir: string, images: StoredImage[], users: ImageUser[]): Promise<{ kept: Set<string>, active: Set<string> }> {
  const byName = new Map(images.map(i => [i.name, i.config.slice(7)]))
  const active = await mountedRoots(dataDir, users)
  for (const u of users) {
    const root = byName.get(u.image)
    if (root !== undefined) active.add(root)
    if (u.held !== undefined) active.add(u.held.config.slice(7))
  }
  return { kept: new Set([...active, ...images.map(i => i.config.slice(7))]), active }
}

/** Removes every unpacked root nothing uses (or only `only`, if nothing uses it); says how many and how many bytes. */
export async function pruneRoots (dataDir: string, images: StoredImage[], users: ImageUser[], only?: string): Promise<{ roots: number, bytes: number }> {
  const { kept } = await rootsInUse(dataDir, images, users)
  let roots = 0
  let bytes = 0
  for (const root of await listRoots(dataDir)) {
    if (kept.has(root) || (only !== undefined && root !== only)) continue
    const path = join(rootsDir(dataDir), root)
    bytes += await treeSize(path)
    await rm(path, { recursive: true, force: true })
    roots++
  }
  return { roots, bytes }
}

/** The bytes of the files under `path` (apparent sizes, a hard-linked file once), as `du -sb` counts them. */
export async function treeSize (path: string): Promise<number> {
  const seen = new Set<string>()
  let total = 0
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
    await Promise.all(entries.map(async e => {
      const p = join(dir, e.name)
      if (e.isDirectory()) return await walk(p)
      const st = await lstat(p).catch(() => undefined)
      if (st === undefined) return
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`
        if (seen.has(key)) return
        seen.add(key)
      }
      total += st.size
    }))
  }
  await walk(path)
  return total
}
