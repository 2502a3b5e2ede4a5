// An image's layers unpacked once into a read-only root shared by its containers, and each
// container's own writable layer over it (overlayfs).
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { createGunzip, createZstdDecompress } from 'node:zlib'
import { InternalError, InvalidArgumentError } from '../../errors.ts'
import type { ContentStore } from '../image/content-store.ts'
import type { ImageRecord, LayerRecord } from '../image/images.ts'
import { applyLayer } from '../image/unpack.ts'

const run = promisify(execFile)
const COMPLETE = '.aurae-complete'

function decompressed (content: ContentStore, layer: LayerRecord): Readable {
  const raw = content.stream(layer.digest) as Readable
  // OCI: …layer.v1.tar[+gzip|+zstd]; Docker: …rootfs.diff.tar.gzip.
  if (layer.mediaType.endsWith('+gzip') || layer.mediaType.endsWith('.tar.gzip')) return raw.pipe(createGunzip())
  if (layer.mediaType.endsWith('+zstd')) return raw.pipe(createZstdDecompress())
  if (layer.mediaType.endsWith('.tar')) return raw
  throw new InvalidArgumentError(`unsupported layer media type ${layer.mediaType}`)
}

/** The image's unpacked root (`<dir>/<config>/rootfs`), made once; a half-made one is never used. */
export async function imageRoot (image: ImageRecord, content: ContentStore, dir: string): Promise<string> {
  const target = join(dir, image.config.slice(7))
  if (existsSync(join(target, COMPLETE))) return join(target, 'rootfs')
  const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`
  await mkdir(join(tmp, 'rootfs'), { recursive: true })
  // The daemon's umask is 077; a container's / must be open to its non-root users.
  await chmod(join(tmp, 'rootfs'), 0o755)
  try {
    for (const layer of image.layers) await applyLayer(decompressed(content, layer), join(tmp, 'rootfs'))
    await writeFile(join(tmp, COMPLETE), '')
    await rm(target, { recursive: true, force: true })
    await rename(tmp, target)
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    throw err
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
