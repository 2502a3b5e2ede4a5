// One queue per name: work on a workload runs one piece at a time, in the order it came, while work on other names
// runs beside it. A piece that fails does not hold up the next.
export class NameLock {
  private readonly tails = new Map<string, Promise<unknown>>()

  /** Runs `fn` once everything queued before it for `name` has settled; its result or failure is the caller's. */
  async run<T> (name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve()
    const next = prev.then(fn, fn)
    const tail = next.catch(() => {})
    this.tails.set(name, tail)
    void tail.then(() => { if (this.tails.get(name) === tail) this.tails.delete(name) })
    return await next
  }

  /** Settles once everything queued so far, for every name, has settled. */
  async idle (): Promise<void> {
    await Promise.allSettled([...this.tails.values()])
  }

  /** Names with work queued or running. */
  get size (): number {
    return this.tails.size
  }
}
