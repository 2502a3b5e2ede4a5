// GETs a registry cannot hold open: each transfer has a deadline that grows with its size, an idle
// timeout, and the caller's signal; any of them ends it by destroying its socket.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { CancelledError, FailedPreconditionError, messageOf } from '../../errors.ts'

/** How long a registry may take; set per node in `<data>/registries.json` under `"pull"`. */
export interface PullLimits {
  /** Every transfer (a manifest, a blob) gets this long… */
  baseSeconds: number
  /** …plus its size at this rate. */
  minBytesPerSecond: number
  /** How long a registry may send nothing at all. */
  idleSeconds: number
}

export const DEFAULT_PULL_LIMITS: PullLimits = { baseSeconds: 60, minBytesPerSecond: 64 * 1024, idleSeconds: 60 }

/** The client went away: its pull ends with it. */
export function cancelled (): Error {
  return new CancelledError('the client went away')
}

/**
 * One transfer, over as many requests as its redirects and auth challenges take: its deadline runs
 * from the first request to the end of the body.
 */
export class Transfer {
  private arrived = 0
  private reason: Error | undefined
  private current: ClientRequest | undefined
  private readonly timer: NodeJS.Timeout
  private readonly seconds: number

  constructor (private readonly what: string, private readonly size: number, private readonly limits: PullLimits, private readonly signal?: AbortSignal) {
    this.seconds = Math.ceil(limits.baseSeconds + size / limits.minBytesPerSecond)
    this.timer = setTimeout(() => {
      const of = this.size >= 0 ? ` of ${this.size}` : ''
      this.fail(new FailedPreconditionError(`${this.what} missed its deadline of ${this.seconds} s (${this.arrived}${of} bytes had arrived)`))
    }, this.seconds * 1000)
    this.timer.unref()
  }

  /** Sends one GET and waits for its answer's head. */
  async get (url: URL, headers: Record<string, string>): Promise<IncomingMessage> {
    this.signal?.throwIfAborted()
    if (this.reason !== undefined) throw this.reason
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      const req = send(url, { headers, signal: this.signal, timeout: this.limits.idleSeconds * 1000 }, resolve)
      this.current = req
      req.on('error', err => reject(this.explain(err, m => `cannot reach ${url.origin}: ${m}`)))
      req.on('timeout', () => this.fail(new FailedPreconditionError(`${url.origin} sent nothing for ${this.limits.idleSeconds} s while sending ${this.what}`)))
      req.end()
    })
  }

  /** The answer's body, counted against the deadline; a failure part-way said as what it is. */
  async * body (res: IncomingMessage, broke: string): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of res) {
        this.arrived += (chunk as Buffer).length
        yield chunk as Buffer
      }
    } catch (err) {
      throw this.explain(err, m => `${broke} (${m})`)
    } finally {
      // A consumer that stopped early (too large, a full disk) leaves nothing open behind it.
      if (!res.complete) res.destroy()
      this.done()
    }
  }

  /** The body, refused past `cap` bytes without reading further. */
  async read (res: IncomingMessage, cap: number, broke: string): Promise<Buffer> {
    const tooLarge = (): Error => new FailedPreconditionError(`${this.what} is larger than the ${cap / 1024 / 1024} MB aurae accepts`)
    if (Number(res.headers['content-length'] ?? 0) > cap) {
      res.destroy()
      this.done()
      throw tooLarge()
    }
    const chunks: Uint8Array[] = []
    let n = 0
    for await (const chunk of this.body(res, broke)) {
      n += chunk.length
      if (n > cap) throw tooLarge()
      chunks.push(chunk)
    }
    return Buffer.concat(chunks)
  }

  done (): void {
    clearTimeout(this.timer)
  }

  private fail (err: Error): void {
    this.reason ??= err
    this.current?.destroy(err)
  }

  /** Why the transfer ended: the client left, the deadline or idle timeout, or what the socket said. */
  private explain (err: unknown, say: (message: string) => string): Error {
    this.done()
    if (this.signal?.aborted === true) return cancelled()
    return this.reason ?? new FailedPreconditionError(say(messageOf(err)))
  }
}
