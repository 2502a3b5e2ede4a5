// LevelDB after a failed write: a write cut short (a full disk) leaves a torn record in its log, and
// every record appended after it is lost when the log is read back at the next start, although each
// of those writes succeeded. So one batch of writes is in flight at a time (the writes that come
// meanwhile wait and go together in the next one, as a group commit), and after a failure the
// database is reopened (which keeps what was written whole and starts a new log) before anything
// else is written.
import { noSpaceOn } from '../errors.ts'

interface Reopenable {
  open: () => Promise<void>
  close: () => Promise<void>
}

/** One write to a sublevel, as abstract-level's batch takes it. */
export type WriteOp<S> = { type: 'put', sublevel: S, key: string, value: unknown } | { type: 'del', sublevel: S, key: string }

interface Pending<S> {
  op: WriteOp<S>
  done: (err?: unknown) => void
}

export class WriteGuard<S> {
  private pending: Array<Pending<S>> = []
  private flushing?: Promise<void>
  private broken = false
  private failure: unknown

  /** `parts` are the sublevels, reopened after their parent `db`, through which `batch` writes. */
  constructor (private readonly db: Reopenable & { batch: (ops: Array<WriteOp<S>>) => Promise<void> }, private readonly parts: () => Reopenable[], private readonly path: string) {}

  /** Writes `op` in the next batch; a failure is said as what it is (a full disk names the store). */
  async write (op: WriteOp<S>): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ op, done: err => err === undefined ? resolve() : reject(err) })
      this.flushing ??= this.flush()
    })
  }

  /** Runs a read, after the reopening a failed write calls for (and fails as it did, if it did). */
  async read<T> (fn: () => Promise<T>): Promise<T> {
    if (this.broken) await (this.flushing ??= this.flush())
    if (this.broken) throw this.failure
    return await fn()
  }

  /** Writes what is pending, batch after batch, until nothing is. */
  private async flush (): Promise<void> {
    // Not before the caller has noted this flush, and has let the writes of the same tick join it.
    await Promise.resolve()
    try {
      do {
        const batch = this.pending
        this.pending = []
        let failure: unknown
        try {
          if (this.broken) await this.reopen()
          if (batch.length > 0) await this.db.batch(batch.map(p => p.op))
        } catch (err) {
          this.broken = true
          // A failed reopen says what failed in its cause.
          const cause = err instanceof Error && err.cause !== undefined ? err.cause : err
          const said = noSpaceOn(cause, this.path)
          failure = said === cause ? err : said
          this.failure = failure
        }
        for (const p of batch) p.done(failure)
      } while (this.pending.length > 0)
    } finally {
      this.flushing = undefined
    }
  }

  private async reopen (): Promise<void> {
    await this.db.close()
    await this.db.open()
    for (const part of this.parts()) await part.open()
    this.broken = false
  }
}
