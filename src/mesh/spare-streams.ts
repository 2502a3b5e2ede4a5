// One call stream per peer, opened ahead of the call that will take it. libp2p negotiates every new stream's
// protocol in a round trip of its own before the first byte of the call can go (160 ms through a relay across
// two NATs); a spare opened after peering, and again after each call, takes that round trip off the next call.
// A spare is kept only for a while: the peer waits that long for a request on it, then closes it.

/** What a spare needs of a stream: whether it can still carry a call, and a way to close it. */
export interface SpareStream {
  readonly status: string
  readonly writeStatus?: string
  readonly readStatus?: string
  readonly remoteWriteStatus?: string
  readonly remoteReadStatus?: string
  close: () => Promise<void>
  abort: (err: Error) => void
}

interface Spare<S> { opened: Promise<S | undefined>, at: number, expiry: NodeJS.Timeout }

export class SpareStreams<S extends SpareStream> {
  private readonly spares = new Map<string, Spare<S>>()

  /**
   * `open` opens a stream to a peer, negotiated and ready for a request. A spare older than `maxAgeMs` is closed
   * rather than used: the peer stops waiting for a request on it at some point after that (SPARE_IDLE_MS).
   */
  constructor (
    private readonly open: (peerId: string) => Promise<S>,
    private readonly maxAgeMs: number,
    /** Whether a spare is still on the path a new call should take (a direct path may have come up since). */
    private readonly onBestPath: (stream: S, peerId: string) => boolean = () => true,
    private readonly now = Date.now
  ) {}

  /** Starts opening a spare for the peer unless one is there or on its way. */
  fill (peerId: string): void {
    if (this.spares.has(peerId)) return
    const spare: Spare<S> = {
      opened: this.open(peerId).catch(() => undefined),
      at: this.now(),
      expiry: setTimeout(() => { if (this.spares.get(peerId) === spare) this.drop(peerId) }, this.maxAgeMs).unref()
    }
    this.spares.set(peerId, spare)
  }

  /** The peer's spare if there is one that can still carry a call (waiting for it if it is on its way), else undefined. */
  async take (peerId: string): Promise<S | undefined> {
    const spare = this.remove(peerId)
    if (spare === undefined) return undefined
    const stream = await spare.opened
    if (stream === undefined) return undefined
    if (this.now() - spare.at >= this.maxAgeMs || !usable(stream) || !this.onBestPath(stream, peerId)) {
      stream.abort(new Error('a spare stream gone stale'))
      return undefined
    }
    return stream
  }

  /** Closes the peer's spare (the peer is no longer trusted, or its connection went). */
  drop (peerId: string): void {
    void this.remove(peerId)?.opened.then(s => { void s?.close().catch(() => s.abort(new Error('closed'))) })
  }

  private remove (peerId: string): Spare<S> | undefined {
    const spare = this.spares.get(peerId)
    this.spares.delete(peerId)
    clearTimeout(spare?.expiry)
    return spare
  }

  /** Closes every spare. */
  clear (): void {
    for (const peerId of [...this.spares.keys()]) this.drop(peerId)
  }
}

/** Open both ways on both sides: nothing has started to close it. */
function usable (s: SpareStream): boolean {
  const is = (v: string | undefined, want: string): boolean => v === undefined || v === want
  return s.status === 'open' && is(s.writeStatus, 'writable') && is(s.readStatus, 'readable') && is(s.remoteWriteStatus, 'writable') && is(s.remoteReadStatus, 'readable')
}
