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

/** Roots something needs: an image's still on record, one a workload's image names, one a running container mounted. */
export async function rootsInUse (dataDir: string, images: StoredImage[], users: ImageUser[]): Promise<{ kept: Set<string>, active: Set<string> }> {
  const byName = new Map(images.map(i => [i.name, i.config.slice(7)]))
  const active = await mountedRoots(dataDir, users)
  for (const u of users) {
    const root = byName.get(u.image)
    if (root !== undefined) active.add(root)
  }
  return { kept: new Set([...active, ...byName.values()]), active }
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
