// The daemon's structured log: one JSON object a line on stderr, and a ring the API can read and follow.
import { EventEmitter } from 'node:events'

export type Level = 'debug' | 'info' | 'warn' | 'error'
const RING = 2000

export class DaemonLog extends EventEmitter<{ line: [string] }> {
  private readonly ring: string[] = []

  constructor (private readonly out: NodeJS.WritableStream = process.stderr) {
    super()
    this.setMaxListeners(0)
  }

  readonly write = (level: Level, msg: string, fields: object = {}): void => {
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })
    this.ring.push(line)
    if (this.ring.length > RING) this.ring.shift()
    this.out.write(line + '\n')
    this.emit('line', line)
  }

  /** The last `n` lines kept (all of them for a negative n). */
  recent (n: number): string[] {
    return n < 0 ? [...this.ring] : this.ring.slice(Math.max(0, this.ring.length - n))
  }
}
