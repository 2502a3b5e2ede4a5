// Reading the monitor's logs: CRI format (`<time> <stream> <F|P> <content>`), rotated files, follow.
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync, watch } from 'node:fs'
import { basename, dirname } from 'node:path'

export interface LogEntry {
  time: string
  stream: 'stdout' | 'stderr'
  data: Buffer
}

/** Turns complete CRI lines into entries; P records join the record that completes them. */
export class CriParser {
  private pending = new Map<string, Buffer[]>()

  push (chunk: Buffer): LogEntry[] {
    const out: LogEntry[] = []
    let start = 0
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      const entry = this.line(chunk.subarray(start, nl))
      if (entry !== undefined) out.push(entry)
      start = nl + 1
    }
    return out
  }

  private line (line: Buffer): LogEntry | undefined {
    const a = line.indexOf(32)
    const b = line.indexOf(32, a + 1)
    const c = line.indexOf(32, b + 1)
    if (a < 0 || b < 0) return undefined
    const time = line.toString('latin1', 0, a)
    const stream = line.toString('latin1', a + 1, b)
    if (stream !== 'stdout' && stream !== 'stderr') return undefined
    const tag = line.toString('latin1', b + 1, c < 0 ? line.length : c)
    const content = c < 0 ? Buffer.alloc(0) : line.subarray(c + 1)
    const parts = this.pending.get(stream) ?? []
    if (tag === 'P') {
      parts.push(Buffer.from(content))
      this.pending.set(stream, parts)
      return undefined
    }
    this.pending.delete(stream)
    return { time, stream, data: Buffer.concat([...parts, content, Buffer.from('\n')]) }
  }

  /** What is held back in partial records, for a stream that has ended. */
  flush (): LogEntry[] {
    const out = [...this.pending].map(([stream, parts]) => ({ time: '', stream: stream as LogEntry['stream'], data: Buffer.concat(parts) }))
    this.pending.clear()
    return out
  }
}

export interface FollowOptions {
  follow: boolean
  /** Only the last `tail` entries of what exists now; negative means all. */
  tail: number
  /** True once no more output can come (the workload ended for good, or was removed). */
  done: () => boolean
  /** Stops following; what is written by then is still read. */
  signal?: AbortSignal
}

/** Yields a log's entries: the rotated files oldest first, then the live file, then (with follow) what is written next. */
export async function * readLog (path: string, opts: FollowOptions): AsyncGenerator<LogEntry[]> {
  const parser = new CriParser()
  const rotated: LogEntry[] = []
  for (let i = 9; i >= 1; i--) {
    try { rotated.push(...parser.push(readFileSync(`${path}.${i}`))) } catch {}
  }
  let fd = openLive(path)
  let offset = 0
  const readMore = (): LogEntry[] => {
    const out: LogEntry[] = []
    for (;;) {
      if (fd === undefined) {
        fd = openLive(path)
        offset = 0
        if (fd === undefined) return out
      }
      const buf = Buffer.allocUnsafe(256 * 1024)
      let n: number
      while ((n = readSync(fd, buf, 0, buf.length, offset)) > 0) {
        offset += n
        out.push(...parser.push(buf.subarray(0, n)))
      }
      if (!rotatedAway(fd, path)) return out
      closeSync(fd)
      fd = undefined
    }
  }
  const first = [...rotated, ...readMore()]
  const tail = opts.tail >= 0 ? first.slice(Math.max(0, first.length - opts.tail)) : first
  if (tail.length > 0) yield tail
  if (!opts.follow) {
    if (fd !== undefined) closeSync(fd)
    return
  }
  const wake = waker(path, opts.signal)
  try {
    for (;;) {
      // Stopping still reads what is written by then: a workload's last lines land just before its exit.
      const finished = opts.done() || opts.signal?.aborted === true
      const more = readMore()
      if (more.length > 0) yield more
      if (finished) break
      await wake.next()
    }
    const rest = parser.flush()
    if (rest.length > 0) yield rest
  } finally {
    wake.close()
    if (fd !== undefined) closeSync(fd)
  }
}

function openLive (path: string): number | undefined {
  try {
    return openSync(path, 'r')
  } catch {
    return undefined
  }
}

function rotatedAway (fd: number, path: string): boolean {
  try {
    return statSync(path).ino !== fstatSync(fd).ino
  } catch {
    return false
  }
}

/** Resolves `next()` when the log's directory changes, on `poke()`, or after a short poll interval. */
export function waker (path: string, signal?: AbortSignal): { next: () => Promise<void>, close: () => void } {
  let resolve: (() => void) | undefined
  const fire = (): void => {
    const r = resolve
    resolve = undefined
    r?.()
  }
  const name = basename(path)
  let watcher: ReturnType<typeof watch> | undefined
  try {
    watcher = watch(dirname(path), (_event, file) => { if (file === null || file.startsWith(name)) fire() })
    watcher.on('error', () => {})
  } catch {}
  signal?.addEventListener('abort', fire)
  return {
    next: async () => await new Promise<void>(r => {
      resolve = r
      setTimeout(fire, 250).unref()
    }),
    close: () => {
      watcher?.close()
      signal?.removeEventListener('abort', fire)
      fire()
    }
  }
}
