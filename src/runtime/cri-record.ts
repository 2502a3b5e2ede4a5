// The monitor's log records, CRI format: `<time> <stdout|stderr> <F|P> <content>\n`. A long line comes
// as partial (P) records of at most 16 KiB ended by a full (F) one; each record is passed on as it
// comes, never joined into a whole line, so a line of any length takes no more memory than a record.
export interface LogEntry {
  time: string
  stream: 'stdout' | 'stderr'
  /** Content as written; it ends with a newline only where the line ended. */
  data: Buffer
}

/** What a record's header says: its stream, whether it ends a line, and where its content starts. */
export interface RecordHeader {
  stream: 'stdout' | 'stderr'
  full: boolean
  content: number
  /** End of the time field. */
  timeEnd: number
}

/** Longer than any record the monitor writes (16 KiB of content and a header); longer runs are not records. */
export const MAX_RECORD = 64 * 1024

const SP = 32
const NL = 10
const TIME_LENGTH = 30
/** Consecutive records of one stream are joined up to this size when their times are not wanted. */
const JOIN_BYTES = 64 * 1024

/** Parses the header of the record `buf[start, end)` (without its newline); undefined when it is not one. */
export function recordHeader (buf: Buffer, start: number, end: number): RecordHeader | undefined {
  const a = timeEnd(buf, start, end)
  if (a < 0) return undefined
  const stream = streamAt(buf, a + 1)
  if (stream === undefined) return undefined
  return { stream, full: buf[a + 8] === 0x46, content: Math.min(a + 10, end), timeEnd: a }
}

/** The end of the time field, when `buf[start, end)` goes on with ` stdout|stderr F|P[ content]`; else -1. */
function timeEnd (buf: Buffer, start: number, end: number): number {
  // The monitor's times are 30 characters: look there before searching (a shorter time's content may
  // have a space there, so a miss searches from the start).
  const fast = start + TIME_LENGTH
  if (fast < end && buf[fast] === SP && tagged(buf, fast, end)) return fast
  const a = buf.indexOf(SP, start)
  return a >= 0 && a < end && tagged(buf, a, end) ? a : -1
}

/** True when ` stdout|stderr F|P` and then a space or the end follow the space at `a`. */
function tagged (buf: Buffer, a: number, end: number): boolean {
  if (a + 9 > end) return false
  const tag = buf[a + 8]
  return buf[a + 7] === SP && (tag === 0x46 || tag === 0x50) && (a + 9 === end || buf[a + 9] === SP) && streamAt(buf, a + 1) !== undefined
}

/** 'stdout' or 'stderr' when the six bytes at `at` say so. */
function streamAt (buf: Buffer, at: number): RecordHeader['stream'] | undefined {
  if (buf[at] !== 0x73 || buf[at + 1] !== 0x74 || buf[at + 2] !== 0x64) return undefined
  if (buf[at + 3] === 0x6f && buf[at + 4] === 0x75 && buf[at + 5] === 0x74) return 'stdout'
  if (buf[at + 3] === 0x65 && buf[at + 4] === 0x72 && buf[at + 5] === 0x72) return 'stderr'
  return undefined
}

/** The next newline at or after `from`; short lines are scanned here, which is cheaper than a call out. */
function newlineFrom (buf: Buffer, from: number): number {
  const stop = Math.min(buf.length, from + 96)
  for (let i = from; i < stop; i++) if (buf[i] === NL) return i
  return stop === buf.length ? -1 : buf.indexOf(NL, stop)
}

/** The end (the newline) of the record at `start`. The monitor's header (a 30-character time, the
 * stream, the tag) holds no newline, so where it is found the search starts after it: most of a
 * short record is its header. Only the time goes unchecked, and the monitor writes every one. */
function recordEnd (buf: Buffer, start: number): number {
  const a = start + TIME_LENGTH
  const tag = buf[a + 8]
  const headed = buf[a] === SP && buf[a + 7] === SP && (tag === 0x46 || tag === 0x50) && streamAt(buf, a + 1) !== undefined
  return newlineFrom(buf, headed ? a + 9 : start)
}

/** Turns chunks of a log into entries, one per record (sharing the chunk's memory), or (with `join`)
 * one per run of records of a stream (copies, so the chunk may be reused once `push` returns). */
export class CriParser {
  /** The start of a record cut by the end of the last chunk. */
  private carry?: Buffer
  /** Inside a run of bytes too long to be a record: dropped up to its newline. */
  private skipping = false

  private readonly joined?: Joined

  constructor (join = false) {
    if (join) this.joined = new Joined()
  }

  /** The entries of every record completed by `chunk`; what is left unfinished waits for the next chunk. */
  push (chunk: Buffer): LogEntry[] {
    const out = this.joined ?? new Single()
    let pos = 0
    if (this.carry !== undefined || this.skipping) {
      const nl = chunk.indexOf(NL)
      if (nl < 0) {
        this.hold(chunk)
        return []
      }
      if (this.carry !== undefined) {
        const rec = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)])
        out.record(rec, 0, rec.length - 1)
      }
      this.carry = undefined
      this.skipping = false
      pos = nl + 1
    }
    for (let nl = recordEnd(chunk, pos); nl >= 0; nl = recordEnd(chunk, pos)) {
      out.record(chunk, pos, nl)
      pos = nl + 1
    }
    if (pos < chunk.length) this.hold(chunk.subarray(pos))
    return out.done()
  }

  private hold (bytes: Buffer): void {
    if (this.skipping) return
    const length = (this.carry?.length ?? 0) + bytes.length
    if (length > MAX_RECORD) {
      this.carry = undefined
      this.skipping = true
      return
    }
    this.carry = this.carry === undefined ? Buffer.from(bytes) : Buffer.concat([this.carry, bytes])
  }
}

/** Entries of one chunk, one per record. Records are `buf[start, end)` with their newline at `buf[end]`. */
class Single {
  private readonly out: LogEntry[] = []

  record (buf: Buffer, start: number, end: number): void {
    const h = recordHeader(buf, start, end)
    if (h === undefined) return
    this.out.push({ time: buf.toString('latin1', start, h.timeEnd), stream: h.stream, data: buf.subarray(h.content, h.full ? end + 1 : end) })
  }

  done (): LogEntry[] {
    return this.out
  }
}

/** Entries of one chunk at a time, a run of records of one stream in each: their contents copied together. */
class Joined {
  private out: LogEntry[] = []
  private acc = Buffer.allocUnsafe(JOIN_BYTES)
  private size = 0
  private time = ''
  private stream: LogEntry['stream'] = 'stdout'

  record (buf: Buffer, start: number, end: number): void {
    const a = timeEnd(buf, start, end)
    const stream = a < 0 ? undefined : streamAt(buf, a + 1)
    if (stream === undefined) return
    const from = Math.min(a + 10, end)
    const to = buf[a + 8] === 0x46 ? end + 1 : end
    const length = to - from
    // A record big enough to go alone goes alone, as a copy of its own (joined entries never share the read's buffer).
    if (length >= JOIN_BYTES / 8) {
      this.flush()
      this.out.push({ time: buf.toString('latin1', start, a), stream, data: Buffer.from(buf.subarray(from, to)) })
      return
    }
    if (this.size > 0 && (stream !== this.stream || this.size + length > JOIN_BYTES)) this.flush()
    if (this.size === 0) {
      this.time = buf.toString('latin1', start, a)
      this.stream = stream
    }
    const acc = this.acc
    if (length < 32) {
      for (let i = from, j = this.size; i < to; i++, j++) acc[j] = buf[i]
    } else {
      buf.copy(acc, this.size, from, to)
    }
    this.size += length
  }

  done (): LogEntry[] {
    this.flush()
    const out = this.out
    this.out = []
    return out
  }

  /** Passes on what has been joined: a small run as a copy of its own size, a large one as the buffer itself. */
  private flush (): void {
    if (this.size === 0) return
    let data: Buffer
    if (this.size < JOIN_BYTES / 4) {
      data = Buffer.from(this.acc.subarray(0, this.size))
    } else {
      data = this.acc.subarray(0, this.size)
      this.acc = Buffer.allocUnsafe(JOIN_BYTES)
    }
    this.out.push({ time: this.time, stream: this.stream, data })
    this.size = 0
  }
}
