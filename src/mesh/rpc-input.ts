// The input direction of a call whose caller streams too (ExecSession): the caller sends at most RPC_INPUT_WINDOW
// bytes of input ahead of what the callee has taken, and the callee grants them back as its handler takes them.
// The callee's reader never waits on the handler (it also reads the caller's response credit), so the window is
// what bounds the callee's memory: a caller that sends beyond it is refused.

/** Bytes of input a caller may send ahead of what the callee's handler has taken. */
export const RPC_INPUT_WINDOW = 256 * 1024

/** The callee's queue of input frames, read by the handler as an async iterable. */
export class InputQueue implements AsyncIterable<Buffer> {
  private readonly queued: Buffer[] = []
  private bytes = 0
  private ended = false
  private failure?: Error
  private wake?: () => void

  /**
   * `taken` is told each frame's size once the handler has taken it (the callee grants it back). The caller's
   * SendWindow lets one more frame (of at most a window) go while less than an eighth is outstanding: twice the
   * window is what a caller that keeps the rule can have queued here.
   */
  constructor (private readonly taken: (bytes: number) => void, private readonly window = 2 * RPC_INPUT_WINDOW) {}

  /** Queues a frame; throws when the caller has sent more than its window. */
  push (frame: Buffer): void {
    if (this.ended) throw new Error('input after its end')
    if (this.bytes + frame.length > this.window) throw new Error(`the caller sent more than its input window of ${this.window} bytes`)
    this.queued.push(frame)
    this.bytes += frame.length
    this.poke()
  }

  /** The caller's input has ended. */
  end (): void {
    this.ended = true
    this.poke()
  }

  /** The call is gone: the handler's iteration throws. */
  fail (err: Error): void {
    this.failure ??= err
    this.poke()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure
      const next = this.queued.shift()
      if (next !== undefined) {
        this.bytes -= next.length
        this.taken(next.length)
        yield next
      } else if (this.ended) {
        return
      } else {
        await new Promise<void>(resolve => { this.wake = resolve })
      }
    }
  }

  private poke (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }
}
