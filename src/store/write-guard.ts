// LevelDB after a failed write: a write cut short (a full disk) leaves a torn record in its log, and
// every record appended after it is lost when the log is read back at the next start, although each
// of those writes succeeded. So writes go one at a time, and after a failure the database is reopened
// (which keeps what was written whole and starts a new log) before anything else is written.
import { noSpaceOn } from '../errors.ts'

interface Reopenable {
  open: () => Promise<void>
  close: () => Promise<void>
}

export class WriteGuard {
  private queue: Promise<unknown> = Promise.resolve()
  private broken = false

  /** `parts` are the sublevels, reopened after their parent `db`. */
  constructor (private readonly db: Reopenable, private readonly parts: () => Reopenable[], private readonly path: string) {}

  /** Runs one write after every earlier one; a failure is said as what it is (a full disk names the store). */
  async write<T> (fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      try {
        if (this.broken) await this.reopen()
        return await fn()
      } catch (err) {
        this.broken = true
        // A failed reopen says what failed in its cause.
        const cause = err instanceof Error && err.cause !== undefined ? err.cause : err
        const said = noSpaceOn(cause, this.path)
        throw said === cause ? err : said
      }
    }
    const next = this.queue.then(run, run)
    this.queue = next.catch(() => {})
    return await next
  }

  /** Runs a read, after the reopening a failed write calls for. */
  async read<T> (fn: () => Promise<T>): Promise<T> {
    if (this.broken) await this.write(async () => {})
    return await fn()
  }

  private async reopen (): Promise<void> {
    await this.db.close()
    await this.db.open()
    for (const part of this.parts()) await part.open()
    this.broken = false
  }
}
