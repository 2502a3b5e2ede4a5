// Applies an OCI layer (a tar stream) to a root directory: whiteouts, opaque directories, hard links,
// symlinks, modes and owners. No entry may write outside the root: names are cleaned, and every
// parent directory is resolved inside the root, so a symlink in the image can never be written through.
import { chmod, lchown, link, lstat, mkdir, open, readdir, readlink, rm, symlink, lutimes } from 'node:fs/promises'
import { constants } from 'node:fs'
import { posix, join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { extract, type Header } from 'tar-stream'
import { InvalidArgumentError } from '../../errors.ts'

const WHITEOUT = '.wh.'
const OPAQUE = '.wh..wh..opq'
const MAX_LINKS = 255

/** A layer that tried to reach outside its root, or that is otherwise unusable. */
export class UnsafeLayerError extends InvalidArgumentError {
  override name = 'InvalidArgumentError'
}

/** `./a/../b/` → `b`; throws for names that climb out of the root. */
export function cleanEntryName (name: string): string {
  const out: string[] = []
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length === 0) throw new UnsafeLayerError(`layer entry "${name}" points outside the root`)
      out.pop()
    } else {
      out.push(part)
    }
  }
  return out.join('/')
}

/**
 * The host path of `rel` inside `root`, following symlinks in its parent directories as if `root`
 * were `/`: an absolute target or a `..` past the top stays inside the root. The last component is
 * not followed.
 */
export async function resolveInRoot (root: string, rel: string): Promise<string> {
  const pending = rel.split('/').filter(p => p !== '' && p !== '.')
  const done: string[] = []
  let links = 0
  while (pending.length > 1) {
    const part = pending.shift() as string
    if (part === '..') {
      done.pop()
      continue
    }
    const here = join(root, ...done, part)
    let st
    try {
      st = await lstat(here)
    } catch {
      done.push(part)
      continue
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new UnsafeLayerError(`too many symbolic links resolving "${rel}"`)
      const target = await readlink(here)
      if (target.startsWith('/')) done.length = 0
      pending.unshift(...target.split('/').filter(p => p !== '' && p !== '.'))
      continue
    }
    done.push(part)
  }
  const last = pending[0]
  if (last === '..') {
    done.pop()
    return join(root, ...done)
  }
  return join(root, ...done, ...(last === undefined ? [] : [last]))
}

/**
 * Makes `dir` and its missing parents as 0755, whatever the daemon's umask (077): a layer that names
 * `a/b/file` without entries for `a` and `a/b` must leave them open to the image's non-root users.
 */
async function makeParents (dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true })
  if (first === undefined) return
  for (let d = dir; ; d = posix.dirname(d)) {
    await chmod(d, 0o755)
    if (d === first || d === posix.dirname(d)) break
  }
}

/** Applies one uncompressed layer tar stream to `root`. */
export async function applyLayer (tar: Readable, root: string): Promise<void> {
  const written = new Set<string>()
  const ex = extract()
  let failure: unknown
  let entry: Promise<void> = Promise.resolve()
  ex.on('entry', (header, stream, next) => {
    entry = applyEntry(root, header, stream, written).then(() => next(), err => { failure ??= err; stream.resume(); next(err) })
  })
  try {
    await pipeline(tar, ex as unknown as Writable)
  } catch (err) {
    // The stream's own complaint ("Premature close") comes first and hides why an entry failed (a full disk).
    await entry
    throw failure ?? err
  }
}

type Body = AsyncIterable<unknown> & { resume: () => unknown }

async function applyEntry (root: string, header: Header, body: Body, written: Set<string>): Promise<void> {
  const name = cleanEntryName(header.name)
  if (name === '') {
    body.resume()
    return
  }
  const dir = posix.dirname(name)
  const base = posix.basename(name)
  if (base === OPAQUE) {
    body.resume()
    const target = await resolveInRoot(root, name)
    const parent = posix.dirname(target)
    // Children of an opaque directory from lower layers go; what this layer put there stays.
    for (const child of await readdir(parent).catch(() => [] as string[])) {
      if (!written.has(posix.join(dir === '.' ? '' : dir, child))) await rm(join(parent, child), { recursive: true, force: true })
    }
    return
  }
  if (base.startsWith(WHITEOUT)) {
    body.resume()
    const hidden = posix.join(dir, base.slice(WHITEOUT.length))
    await rm(await resolveInRoot(root, cleanEntryName(hidden)), { recursive: true, force: true })
    return
  }
  const target = await resolveInRoot(root, name)
  await makeParents(posix.dirname(target))
  const existing = await lstat(target).catch(() => undefined)
  if (existing !== undefined && !(existing.isDirectory() && header.type === 'directory')) {
    await rm(target, { recursive: true, force: true })
  }
  switch (header.type) {
    case 'directory':
      await mkdir(target, { recursive: true })
      body.resume()
      break
    case 'file':
    case 'contiguous-file': {
      // O_NOFOLLOW: the path was just cleared, so a symlink here could only be a race; refuse to follow it.
      const fh = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
      try {
        for await (const chunk of body) await fh.write(chunk as Buffer)
      } finally {
        await fh.close()
      }
      break
    }
    case 'symlink':
      body.resume()
      await symlink(header.linkname ?? '', target)
      break
    case 'link': {
      body.resume()
      const source = await resolveInRoot(root, cleanEntryName(header.linkname ?? ''))
      const st = await lstat(source).catch(() => undefined)
      if (st === undefined || st.isDirectory()) throw new UnsafeLayerError(`layer entry "${header.name}" links to "${header.linkname}", which is not a file in the layer`)
      await link(source, target)
      break
    }
    default:
      // Devices, FIFOs and the like: the runtime provides /dev; nothing else in an image needs them.
      body.resume()
      return
  }
  written.add(name)
  if (header.type !== 'symlink' && header.type !== 'link') await chmod(target, (header.mode ?? 0o644) & 0o7777)
  // A hard link shares its inode with a file already owned and moded as the layer said.
  if (header.type === 'link') return
  if (process.getuid?.() === 0) await lchown(target, header.uid ?? 0, header.gid ?? 0)
  // chown drops setuid bits; put the mode back after it.
  if (header.type !== 'symlink' && ((header.mode ?? 0) & 0o6000) !== 0) await chmod(target, (header.mode ?? 0) & 0o7777)
  const mtime = header.mtime ?? new Date(0)
  await lutimes(target, mtime, mtime).catch(() => {})
}
