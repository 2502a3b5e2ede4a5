// Applies an OCI layer (a tar stream) to a root directory: whiteouts, opaque directories, hard links,
// symlinks, modes and owners. No entry may write outside the root: names are cleaned, and every
// parent directory is resolved inside the root, so a symlink in the image can never be written through.
// Each entry is a few synchronous calls (its work is a few syscalls, which a thread-pool round trip
// per call would multiply); the event loop gets its turn between the tar's chunks.
import { chmodSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeSync, type Stats } from 'node:fs'
import { posix, join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { extract, type Header } from 'tar-stream'
import { InvalidArgumentError } from '../../errors.ts'

const WHITEOUT = '.wh.'
const OPAQUE = '.wh..wh..opq'
const MAX_LINKS = 255
const AS_ROOT = process.getuid?.() === 0
/** Entries applied between two turns of the event loop: a few milliseconds' work. */
const YIELD_EVERY = 64

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

function lstatOrUndefined (path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}

function resolveSync (root: string, rel: string): string {
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
    const st = lstatOrUndefined(here)
    if (st?.isSymbolicLink() === true) {
      if (++links > MAX_LINKS) throw new UnsafeLayerError(`too many symbolic links resolving "${rel}"`)
      const target = readlinkSync(here)
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
 * The host path of `rel` inside `root`, following symlinks in its parent directories as if `root`
 * were `/`: an absolute target or a `..` past the top stays inside the root. The last component is
 * not followed.
 */
export async function resolveInRoot (root: string, rel: string): Promise<string> {
  return resolveSync(root, rel)
}

/**
 * One layer's application: where each directory the layer has written into resolved to (so an entry
 * costs no walk of its parents), dropped whenever anything but a file is removed or replaced.
 */
class Applier {
  private readonly dirs = new Map<string, string>()
  readonly written = new Set<string>()

  constructor (private readonly root: string) {
    makeParents(root)
  }

  /** The host directory that entries under `relDir` go into, made (0755) if missing. */
  private parentOf (relDir: string): string {
    if (relDir === '.' || relDir === '') return this.root
    const known = this.dirs.get(relDir)
    if (known !== undefined) return known
    const host = posix.dirname(resolveSync(this.root, `${relDir}/x`))
    makeParents(host)
    this.dirs.set(relDir, host)
    return host
  }

  /** Removes what is at `path`; a directory or symlink gone may change where names resolve. */
  private remove (path: string, st: Stats | undefined): void {
    if (st === undefined) return
    if (!st.isFile()) this.dirs.clear()
    rmSync(path, { recursive: true, force: true })
  }

  /** Runs `make` at `target`, clearing what is there first when it is in the way. */
  private create<T> (target: string, make: () => T, keep?: (st: Stats) => boolean): T | undefined {
    try {
      return make()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const st = lstatOrUndefined(target)
    if (st !== undefined && keep?.(st) === true) return undefined
    this.remove(target, st)
    return make()
  }

  /** Applies one entry; a promise only while a file's body is still arriving. */
  entry (header: Header, body: Readable): Promise<void> | undefined {
    const name = cleanEntryName(header.name)
    if (name === '') return drain(body)
    const dir = posix.dirname(name)
    const base = posix.basename(name)
    if (base === OPAQUE) {
      const parent = this.parentOf(dir)
      this.dirs.clear()
      // Children of an opaque directory from lower layers go; what this layer put there stays.
      for (const child of readdirOrEmpty(parent)) {
        if (!this.written.has(posix.join(dir === '.' ? '' : dir, child))) rmSync(join(parent, child), { recursive: true, force: true })
      }
      return drain(body)
    }
    if (base.startsWith(WHITEOUT)) {
      const hidden = cleanEntryName(posix.join(dir, base.slice(WHITEOUT.length)))
      this.dirs.clear()
      rmSync(resolveSync(this.root, hidden), { recursive: true, force: true })
      return drain(body)
    }
    const target = join(this.parentOf(dir), base)
    const mode = (header.mode ?? 0o644) & 0o7777
    const mtime = header.mtime ?? new Date(0)
    this.written.add(name)
    switch (header.type) {
      case 'directory':
        this.create(target, () => mkdirSync(target), st => st.isDirectory())
        // chown drops setuid bits, so the mode comes after the owner.
        if (AS_ROOT) lchownSync(target, header.uid ?? 0, header.gid ?? 0)
        chmodSync(target, mode)
        setTimes(target, mtime)
        this.dirs.set(name, target)
        return drain(body)
      case 'file':
      case 'contiguous-file': {
        // O_NOFOLLOW: whatever was there was just cleared, so a symlink here could only be a race; refuse to follow it.
        const fd = this.create(target, () => openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)) as number
        return writeBody(fd, body, () => {
          if (AS_ROOT) fchownSync(fd, header.uid ?? 0, header.gid ?? 0)
          fchmodSync(fd, mode)
          try {
            futimesSync(fd, mtime, mtime)
          } catch {}
        })
      }
      case 'symlink':
        this.create(target, () => symlinkSync(header.linkname ?? '', target))
        if (AS_ROOT) lchownSync(target, header.uid ?? 0, header.gid ?? 0)
        setTimes(target, mtime)
        return drain(body)
      case 'link': {
        // A hard link shares its inode with a file already owned and moded as the layer said.
        const source = resolveSync(this.root, cleanEntryName(header.linkname ?? ''))
        const st = lstatOrUndefined(source)
        if (st === undefined || st.isDirectory()) throw new UnsafeLayerError(`layer entry "${header.name}" links to "${header.linkname}", which is not a file in the layer`)
        this.create(target, () => linkSync(source, target))
        return drain(body)
      }
      default:
        // Devices, FIFOs and the like: the runtime provides /dev; nothing else in an image needs them.
        this.written.delete(name)
        return drain(body)
    }
  }
}

/** Times are kept where they can be; one the filesystem cannot hold is no reason to refuse the layer. */
function setTimes (path: string, mtime: Date): void {
  try {
    lutimesSync(path, mtime, mtime)
  } catch {}
}

function readdirOrEmpty (dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/**
 * Makes `dir` and its missing parents as 0755, whatever the daemon's umask (077): a layer that names
 * `a/b/file` without entries for `a` and `a/b` must leave them open to the image's non-root users.
 */
function makeParents (dir: string): void {
  const first = mkdirSync(dir, { recursive: true })
  if (first === undefined) return
  for (let d = dir; ; d = posix.dirname(d)) {
    chmodSync(d, 0o755)
    if (d === first || d === posix.dirname(d)) break
  }
}

function drain (body: Readable): undefined {
  body.resume()
  return undefined
}

/** Writes a file's body to `fd` as it arrives, then `finish`es and closes it; the fd is closed on failure too. */
async function writeBody (fd: number, body: Readable, finish: () => void): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      body.on('data', (chunk: Buffer) => {
        try {
          for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off)
        } catch (err) {
          body.destroy(err as Error)
        }
      })
      body.on('end', resolve)
      body.on('error', reject)
    })
    finish()
  } finally {
    closeSync(fd)
  }
}

/** Applies one uncompressed layer tar stream to `root`. */
export async function applyLayer (tar: Readable, root: string): Promise<void> {
  const ex = extract()
  let failure: unknown
  let entry: Promise<void> | undefined
  let applier: Applier
  let applied = 0
  ex.on('entry', (header, stream, next) => {
    const fail = (err: unknown): void => {
      failure ??= err
      // The extract ends this entry's stream with the same error, which `failure` already reports.
      stream.on('error', () => {})
      stream.resume()
      next(err as Error)
    }
    try {
      entry = applier.entry(header, stream as unknown as Readable)?.then(() => next(), fail)
      // The daemon's other callers get a turn every so many entries, however small the files.
      if (entry === undefined && ++applied % YIELD_EVERY === 0) entry = new Promise(resolve => setImmediate(resolve)).then(() => next())
      else if (entry === undefined) next()
    } catch (err) {
      fail(err)
    }
  })
  try {
    applier = new Applier(root)
    await pipeline(tar, ex as unknown as Writable)
  } catch (err) {
    // The stream's own complaint ("Premature close") comes first and hides why an entry failed (a full disk).
    await entry
    throw failure ?? err
  }
}
