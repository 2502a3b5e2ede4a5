// What the node's disk holds, as `docker system df` shows it: images, their unpacked roots, containers'
// writable layers and workloads' logs, each with how much of it nothing running needs.
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isLogFileOf } from '../log-files.ts'
import type { ContentStore } from './content-store.ts'
import { blobsOf, containerDir, listRoots, rootsDir, rootsInUse, treeSize, type ImageUser, type StoredImage } from './unpacked-roots.ts'

export interface UsageRow {
  type: 'images' | 'roots' | 'containers' | 'logs'
  total: number
  active: number
  size: number
  reclaimable: number
}

/** Sums `sizes` and the part of it whose key `active` does not hold. */
function row (type: UsageRow['type'], sizes: Map<string, number>, active: (key: string) => boolean): UsageRow {
  let size = 0
  let reclaimable = 0
  let count = 0
  for (const [key, n] of sizes) {
    size += n
    if (active(key)) count++
    else reclaimable += n
  }
  return { type, total: sizes.size, active: count, size, reclaimable }
}

/**
 * The four rows of `aurae system df`; `users` are every workload on record (image '' for executables), with the
 * image each container holds. Every container's writable layer counts, the running ones' as active, as Docker's.
 */
export async function diskUsage (dataDir: string, content: ContentStore, images: StoredImage[], users: ImageUser[]): Promise<UsageRow[]> {
  const inUse = new Set(users.filter(u => u.image !== '').map(u => u.image))
  const activeBlobs = new Set([...images.filter(i => inUse.has(i.name)), ...users.flatMap(u => u.held ?? [])].flatMap(blobsOf))
  const blobs = new Map<string, number>()
  for (const digest of await content.list()) blobs.set(digest, await content.size(digest))
  const imageRow = row('images', blobs, d => activeBlobs.has(d))
  const activeImages = images.filter(i => inUse.has(i.name)).length
  const roots = new Map<string, number>()
  for (const root of await listRoots(dataDir)) roots.set(root, await treeSize(join(rootsDir(dataDir), root)))
  const { active } = await rootsInUse(dataDir, images, users)
  const containers = new Map<string, number>()
  for (const u of users) if (u.image !== '') containers.set(u.workload, await treeSize(join(containerDir(dataDir, u.workload), 'upper')))
  const running = new Set(users.filter(u => u.running).map(u => u.workload))
  const logs = new Map<string, number>()
  const logDir = join(dataDir, 'logs')
  for (const file of await readdir(logDir).catch(() => [] as string[])) {
    const owner = users.find(u => isLogFileOf(file, `${u.workload}.log`))?.workload ?? `\0${file}`
    logs.set(owner, (logs.get(owner) ?? 0) + (await stat(join(logDir, file)).catch(() => ({ size: 0 }))).size)
  }
  return [
    { ...imageRow, total: images.length, active: activeImages },
    row('roots', roots, r => active.has(r)),
    row('containers', containers, w => running.has(w)),
    row('logs', logs, w => running.has(w))
  ]
}
