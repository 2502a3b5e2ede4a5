// Reading a workload's log: its rotated files oldest first, then the live one, then (with follow)
// what is written next, in batches of bounded size whatever the workload prints.
import { watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import { CriParser, type LogEntry } from './cri-record.ts'
import { LogCursor, READ_BYTES } from './log-cursor.ts'
import { isLogFileOf } from './log-files.ts'

export type { LogEntry } from './cri-record.ts'

export interface FollowOptions {
  follow: boolean
  /** Only the last `tail` lines of what exists now; negative means all. */
  tail: number
  /** True once no more output can come (the workload ended for good, or was removed). */
  done: () => boolean
  /** Stops following; what is written by then is still read. */
  signal?: AbortSignal
  /** Join consecutive records of a stream into one entry (stamped with the first one's time). */
  join?: boolean
}

/** Yields a log's entries, one read's worth at a time: every line in order, across rotations. */
export async function * readLog (path: string, opts: FollowOptions): AsyncGenerator<LogEntry[]> {
  const cursor = new LogCursor(path)
  const parser = new CriParser(opts.join === true)
  // Joined entries are copies, so one buffer serves every read: a long log read back makes no garbage of its size.
  const scratch = opts.join === true ? Buffer.allocUnsafe(READ_BYTES) : undefined
  const wake = opts.follow ? waker(path, opts.signal) : undefined
  try {
    if (!opts.follow) cursor.stopAtCurrentEnd()
    if (opts.tail >= 0) cursor.seekTail(opts.tail)
    for (;;) {
      // Stopping still reads what is written by then: a workload's last lines land just before its exit.
      const finished = wake === undefined || opts.done() || opts.signal?.aborted === true
      for (let chunk = cursor.read(scratch); chunk !== undefined; chunk = cursor.read(scratch)) {
        const entries = parser.push(chunk)
        if (entries.length > 0) yield entries
      }
      if (finished || wake === undefined) return
      await wake.next()
    }
  } finally {
    wake?.close()
    cursor.close()
  }
}

/** Resolves `next()` when one of the log's files changes, on abort, or after a short poll interval. */
function waker (path: string, signal?: AbortSignal): { next: () => Promise<void>, close: () => void } {
  let resolve: (() => void) | undefined
  const fire = (): void => {
    const r = resolve
    resolve = undefined
    r?.()
  }
  const name = basename(path)
  let watcher: ReturnType<typeof watch> | undefined
  // Without a watch (none left: inotify's limit; or once it fails) the poll below still wakes the reader.
  try {
    watcher = watch(dirname(path), (_event, file) => { if (file === null || isLogFileOf(file, name)) fire() })
    watcher.on('error', () => watcher?.close())
  } catch {
    watcher = undefined
  }
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
