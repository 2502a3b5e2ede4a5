// A plain file read as it grows (a VM's console, which its reader appends to): what it holds, then, when followed,
// what is added, until the writer is done.
import { open } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

/** How often a followed file is looked at for more. */
const POLL_MS = 200
/** The largest piece read at once. */
const CHUNK = 64 * 1024

export interface FollowOptions {
  follow: boolean
  /** Only the last `tail` lines of what it holds at first; negative for all. */
  tail: number
  /** True once nothing more will be written (checked after the last read found nothing new). */
  done: () => boolean
  signal: AbortSignal
}

/** The file's bytes in pieces of at most 64 KiB; nothing when it does not exist (yet: it is waited for when followed). */
export async function * followFile (path: string, opts: FollowOptions): AsyncGenerator<Buffer> {
  let at = 0
  let first = true
  for (;;) {
    const file = await open(path, 'r').catch(() => undefined)
    let got = 0
    if (file !== undefined) {
      try {
        const size = (await file.stat()).size
        if (first && opts.tail >= 0) at = Math.max(0, await tailStart(file, size, opts.tail))
        first = false
        while (at < size && !opts.signal.aborted) {
          const { bytesRead, buffer } = await file.read(Buffer.alloc(Math.min(CHUNK, size - at)), 0, Math.min(CHUNK, size - at), at)
          if (bytesRead === 0) break
          at += bytesRead
          got += bytesRead
          yield buffer.subarray(0, bytesRead)
        }
      } finally {
        await file.close()
      }
    }
    if (!opts.follow || opts.signal.aborted || (got === 0 && opts.done())) return
    await sleep(POLL_MS, undefined, { signal: opts.signal }).catch(() => {})
  }
}

/** Where the last `lines` lines of the file's first `size` bytes start. */
async function tailStart (file: Awaited<ReturnType<typeof open>>, size: number, lines: number): Promise<number> {
  if (lines === 0) return size
  const { buffer } = await file.read(Buffer.alloc(size), 0, size, 0)
  let seen = 0
  for (let i = size - 1; i >= 0; i--) {
    // A last line without its newline counts as one.
    if (buffer[i] === 10 && i !== size - 1 && ++seen === lines) return i + 1
  }
  return 0
}
