// The daemon's structured log: one JSON object a line on stderr, and a ring the API can read and follow.
import { EventEmitter } from 'node:events'
import { writeSync } from 'node:fs'

export type Level = 'debug' | 'info' | 'warn' | 'error'
const RING = 2000

export class DaemonLog extends EventEmitter<{ line: [string] }> {
  private readonly ring: string[] = []
  /** Lines that could not be written out (a full disk under the log file); said once writing works again. */
  private lost = 0
  /** A line was cut short: the next write ends it first, so every other line stays whole JSON. */
  private torn = false

  /** `fd` is where lines go: written directly, since a stream that fails once stays failed, and its error event would be one more line to log. */
  constructor (private readonly fd = 2) {
    super()
    this.setMaxListeners(0)
  }

  readonly write = (level: Level, msg: string, fields: object = {}): void => {
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })
    this.ring.push(line)
    if (this.ring.length > RING) this.ring.shift()
    this.put(line)
    this.emit('line', line)
  }

  private put (line: string): void {
    try {
      if (this.torn) this.writeAll('\n')
      this.torn = false
      if (this.lost > 0) {
        this.writeAll(JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'daemon log lines could not be written', lost: this.lost }) + '\n')
        this.lost = 0
      }
      this.writeAll(line + '\n')
    } catch {
      this.lost++
    }
  }

  private writeAll (text: string): void {
    const bytes = Buffer.from(text)
    for (let done = 0; done < bytes.length;) {
      try {
        done += writeSync(this.fd, bytes, done)
      } catch (err) {
        if (done > 0) this.torn = true
        throw err
      }
    }
  }

  /** The last `n` lines kept (all of them for a negative n). */
  recent (n: number): string[] {
    return n < 0 ? [...this.ring] : this.ring.slice(Math.max(0, this.ring.length - n))
  }
}
