// Flow control for a call's response frames, end to end: the callee sends at most a window of bytes ahead of what
// the caller has taken, and the caller grants them back as it takes them. yamux does this for a TCP connection by
// itself; a WebRTC data channel cannot, since its reader cannot stop the sender, and a paused stream that fills
// its buffer fails the call.

/** Bytes of response frames a caller lets the callee send ahead of it. */
export const RPC_WINDOW = 1024 * 1024

/**
 * The caller grants back what it took once that reaches an eighth of the window, so at most that much is ever
 * taken and not yet granted: below it the callee may always send one more frame, however large, and the two can
 * never wait on each other.
 */
export const grantEvery = (window: number): number => Math.floor(window / 8)

/** The callee's side: what it sent that the caller has not granted back, and a wait when that fills the window. */
export class SendWindow {
  private outstanding = 0
  private wake?: () => void
  private closed = false

  constructor (private readonly window: number) {}

  /** Resolves once `bytes` more may go; rejects once the caller is gone. */
  async take (bytes: number, signal: AbortSignal): Promise<void> {
    while (this.outstanding >= grantEvery(this.window) && this.outstanding + bytes > this.window) {
      if (this.closed || signal.aborted) throw new Error('the caller went away')
      await new Promise<void>(resolve => {
        const done = (): void => {
          signal.removeEventListener('abort', done)
          resolve()
        }
        this.wake = done
        signal.addEventListener('abort', done)
      })
    }
    if (this.closed || signal.aborted) throw new Error('the caller went away')
    this.outstanding += bytes
  }

  /** The caller took `bytes` more; more than was sent counts as what was sent. */
  grant (bytes: number): void {
    this.outstanding -= Math.min(bytes, this.outstanding)
    this.poke()
  }

  close (): void {
    this.closed = true
    this.poke()
  }

  private poke (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }
}

/** The caller's side: counts what it took, and says when to grant it back. */
export class TakenCounter {
  private taken = 0

  constructor (private readonly window: number) {}

  /** Notes `bytes` taken; returns the bytes to grant now, or 0 while less than grantEvery is owed. */
  took (bytes: number): number {
    this.taken += bytes
    if (this.taken < grantEvery(this.window)) return 0
    const grant = this.taken
    this.taken = 0
    return grant
  }
}
