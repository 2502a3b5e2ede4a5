// An image's layers unpacked once into a read-only root shared by its containers, and each
// container's own writable layer over it (overlayfs).
import { execFile } from 'node:child_process'
import { createHash, randomBytes, type Hash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { promisify } from 'node:util'
import { InternalError, InvalidArgumentError, noSpaceOn } from '../../errors.ts'
import type { ContentStore } from '../image/content-store.ts'
import type { ImageRecord, Images, LayerRecord } from '../image/images.ts'
import type { LayerSources } from '../image/layer-fetch.ts'
import { compressionOf, decompressor } from '../image/layer-format.ts'
import { applyLayer } from '../image/unpack.ts'
import { containerDir, IMAGE_NOTE, noteOf } from '../image/unpacked-roots.ts'

const run = promisify(execFile)
const COMPLETE = '.aurae-complete'
/**
 * Unpacks under way, by target: callers for the same image wait for the one and share its result. One fed by a
 * pull's downloads (`streamed`) fails with that pull; whoever waited on it tries again from the stored blobs.
 */
const unpacking = new Map<string, { done: Promise<string>, streamed: boolean }>()

/** How far an unpack is: layer `index` of the image, `current` of its `total` (compressed) bytes read. */
export type UnpackProgress = (index: number, current: number, total: number) => void

/** The layer's tar from its compressed bytes, hashed on the way when `hash` is given. */
function decompressed (raw: Readable, layer: LayerRecord, onBytes: (n: number) => void, hash?: Hash): Readable {
  const compression = compressionOf(layer.mediaType)
  if (compression === undefined) throw new InvalidArgumentError(`unsupported layer media type ${layer.mediaType}`)
  raw.on('data', (chunk: Buffer) => onBytes(chunk.length))
  const stages: Readable[] = [raw, ...[decompressor(compression), hash === undefined ? undefined : hashing(hash)].filter(s => s !== undefined)]
  for (let k = 1; k < stages.length; k++) {
    const [from, to] = [stages[k - 1], stages[k] as Transform]
    // pipe() does not pass errors on: a blob that cannot be read must fail the unpack, not stall it…
    from.on('error', err => to.destroy(err))
    // …and an unpack that stops early lets go of what it read.
    to.on('close', () => from.destroy())
    from.pipe(to)
  }
  return stages[stages.length - 1]
}

/** Passes a layer's tar on, hashing it on the way. */
function hashing (hash: Hash): Transform {
  return new Transform({
    transform (chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      done(null, chunk)
    }
  })
}

/**
 * The image's unpacked root (`<dir>/<config>/rootfs`), made once: concurrent callers share one
 * unpack, a half-made root is never used, and a complete one is never removed or replaced.
 */
export async function imageRoot (image: ImageRecord, content: ContentStore, dir: string, onProgress: UnpackProgress = () => {}, sources?: LayerSources): Promise<string> {
  const target = join(dir, image.config.slice(7))
  if (existsSync(join(target, COMPLETE))) return join(target, 'rootfs')
  const running = unpacking.get(target)
  if (running !== undefined) {
    try {
      return await running.done
    } catch (err) {
      if (!running.streamed) throw err
    }
    return await imageRoot(image, content, dir, onProgress, sources)
  }
  const done = unpackOnce(image, content, dir, target, onProgress, sources).finally(() => unpacking.delete(target))
  unpacking.set(target, { done, streamed: sources !== undefined })
  return await done
}

/**
 * Readies the roots directory as the daemon starts: removes what unpacks cut short by a killed daemon left (none is
 * under way yet), and marks it the top of unrelated hierarchies for ext4's allocator (`chattr +T`), so a new root's
 * files take inodes in a block group of their own instead of scanning past thousands a removed root just freed.
 */
export async function readyRootsDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (const f of await readdir(dir)) if (f.includes('.tmp-')) await rm(join(dir, f), { recursive: true, force: true })
  // Only a hint, which filesystems other than ext2/3/4 do not take.
  await run('chattr', ['+T', dir]).catch(() => {})
}

async function unpackOnce (image: ImageRecord, content: ContentStore, dir: string, target: string, onProgress: UnpackProgress, sources?: LayerSources): Promise<string> {
  if (existsSync(join(target, COMPLETE))) return join(target, 'rootfs')
  // What an unpack cut short (a daemon killed part-way) left; none is under way but this one.
  const stale = `${basename(target)}.tmp-`
  for (const f of await readdir(dir).catch(() => [] as string[])) if (f.startsWith(stale)) await rm(join(dir, f), { recursive: true, force: true })
  const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`
  try {
    await mkdir(join(tmp, 'rootfs'), { recursive: true })
    // The daemon's umask is 077; a container's / must be open to its non-root users.
    await chmod(join(tmp, 'rootfs'), 0o755)
    // In order: a layer's whiteouts and opaque directories are about the layers below it.
    const stored: Array<Promise<void>> = []
    for (const [i, layer] of image.layers.entries()) {
      let current = 0
      const feed = await sources?.(i)
      const raw = feed === undefined ? content.stream(layer.digest) as Readable : Readable.from(feed.bytes, { objectMode: false })
      if (feed !== undefined) stored.push(feed.stored)
      // The pull's diff_id check is the digest of the tar as read here, whole.
      const hash = feed?.unpacked === undefined ? undefined : createHash('sha256')
      // A layer read as it arrives is said unpacked only once it is stored, so a layer found wrong never is.
      const said = feed === undefined ? layer.size : layer.size - 1
      try {
        await applyLayer(decompressed(raw, layer, n => onProgress(i, Math.min(current += n, said), layer.size), hash), join(tmp, 'rootfs'))
      } catch (err) {
        feed?.unpacked?.(undefined)
        throw err
      }
      feed?.unpacked?.(`sha256:${hash?.digest('hex') ?? ''}`)
      feed?.stored.then(() => onProgress(i, layer.size, layer.size), () => {})
    }
    // A pull's layers were read as they arrived: the root is made only of layers verified and stored.
    await Promise.all(stored)
    await writeFile(join(tmp, COMPLETE), '')
    // Only an incomplete root (never one with COMPLETE, which nothing removes) can be in the way.
    await rm(target, { recursive: true, force: true })
    await rename(tmp, target)
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    throw noSpaceOn(err, dir)
  }
  return join(target, 'rootfs')
}

/**
 * Makes a fresh writable layer for `lower` in the bundle and says how to mount the two at
 * `<bundle>/rootfs`; the workload's monitor mounts it for the run and unmounts it after.
 */
export async function overlayOf (lower: string, bundle: string): Promise<{ target: string, options: string }> {
  await unmountUnder(bundle)
  for (const d of ['upper', 'work', 'rootfs']) await mkdir(join(bundle, d), { recursive: true })
  // The overlay's root takes its mode from the upper directory.
  await chmod(join(bundle, 'upper'), 0o755)
  await chmod(bundle, 0o711)
  if (/[,:]/.test(lower + bundle)) throw new InternalError(`overlayfs cannot take paths with "," or ":" (${bundle})`)
  return { target: join(bundle, 'rootfs'), options: `lowerdir=${lower},upperdir=${join(bundle, 'upper')},workdir=${join(bundle, 'work')}` }
}

/**
 * Unmounts whatever is still mounted at or below `dirs`, deepest first: a root whose monitor was
 * killed, or what a runtime killed mid-start left in its state directory.
 */
export async function unmountUnder (...dirs: string[]): Promise<void> {
  // /proc/self/mounts writes a space in a path as \040.
  const points = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map(l => (l.split(' ')[1] ?? '').replaceAll('\\040', ' '))
  const below = points.filter(p => dirs.some(d => p === d || p.startsWith(`${d}/`))).sort((a, b) => b.length - a.length)
  for (const p of below) await run('umount', ['-l', p]).catch(() => {})
}

/**
 * The image workload `name` (a container or a VM) runs from, noted in its directory, which this makes. It keeps the
 * image it was made from while that is stored, as Docker binds a container to its image's ID: a re-pull or a forced
 * rmi of the tag changes nothing for it. Else the stored image of `ref`, else `ref` pulled.
 */
export async function heldImage (images: Images, content: ContentStore, dataDir: string, name: string, ref: string, signal?: AbortSignal): Promise<ImageRecord> {
  const noted = await noteOf(dataDir, name)
  let image = noted !== undefined && await content.has(noted.config) ? noted as ImageRecord : (await images.list()).find(i => i.name === ref)
  image ??= await images.pull(ref, undefined, signal)
  await mkdir(containerDir(dataDir, name), { recursive: true })
  await writeFile(join(containerDir(dataDir, name), IMAGE_NOTE), JSON.stringify(image))
  return image
}
