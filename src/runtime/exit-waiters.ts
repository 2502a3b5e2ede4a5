// Those waiting for a workload's end, kept by name: a down stopping 500 workloads at once settles each exit in one
// step, not 500.
import type { WorkloadRecord } from './workload.ts'

export class ExitWaiters {
  private readonly waiters = new Map<string, Set<(rec: WorkloadRecord) => void>>()

  /** Resolves with the record once `settle` is called for `name`; rejects with the signal's reason if it aborts first. */
  async wait (name: string, signal?: AbortSignal): Promise<WorkloadRecord> {
    signal?.throwIfAborted()
    return await new Promise<WorkloadRecord>((resolve, reject) => {
      const waiters = this.waiters.get(name) ?? new Set()
      this.waiters.set(name, waiters)
      const onAbort = (): void => {
        waiters.delete(settle)
        reject(signal?.reason)
      }
      const settle = (ended: WorkloadRecord): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve(ended)
      }
      waiters.add(settle)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Tells everyone waiting for this workload that it has ended for good. */
  settle (rec: WorkloadRecord): void {
    const waiters = this.waiters.get(rec.spec.name)
    this.waiters.delete(rec.spec.name)
    for (const settle of waiters ?? []) settle(rec)
  }
}
