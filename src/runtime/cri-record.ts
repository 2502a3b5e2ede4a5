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
/** Consecutive records of one stream are joined up to this size when their times are not wanted. */
const JOIN_BYTES = 64 * 1024

/** Parses the header of the record `buf[start, end)` (without its newline); undefined when it is not one. */
export function recordHeader (buf: Buffer, start: number, end: number): RecordHeader | undefined {
  const a = buf.indexOf(SP, start)
  if (a < 0 || a + 9 > end) return undefined
  let stream: RecordHeader['stream'] | undefined
  if (buf[a + 1] === 0x73 && buf[a + 2] === 0x74 && buf[a + 3] === 0x64) {
    if (buf[a + 4] === 0x6f && buf[a + 5] === 0x75 && buf[a + 6] === 0x74) stream = 'stdout'
    else if (buf[a + 4] === 0x65 && buf[a + 5] === 0x72 && buf[a + 6] === 0x72) stream = 'stderr'
  }
  const tag = buf[a + 8]
  if (stream === undefined || buf[a + 7] !== SP || (tag !== 0x46 && tag !== 0x50)) return undefined
  if (a + 9 < end && buf[a + 9] !== SP) return undefined
  return { stream, full: tag === 0x46, content: Math.min(a + 10, end), timeEnd: a }
}

/** Turns chunks of a log into entries, one per record, or (with `join`) one per run of records of a stream. */
export class CriParser {
  /** The start of a record cut by the end of the last chunk. */
  private carry?: Buffer
  /** Inside a run of bytes too long to be a record: dropped up to its newline. */
  private skipping = false

  constructor (private readonly join = false) {}

  /** The entries of every record completed by `chunk`; what is left unfinished waits for the next chunk. */
  push (chunk: Buffer): LogEntry[] {
    const out = new Entries(this.join)
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
    for (let nl = chunk.indexOf(NL, pos); nl >= 0; nl = chunk.indexOf(NL, pos)) {
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

/** The entries of one chunk. Records are `buf[start, end)` with their newline at `buf[end]`. */
class Entries {
  private readonly out: LogEntry[] = []
  private parts: Buffer[] = []
  private size = 0
  private time = ''
  private stream: LogEntry['stream'] = 'stdout'

  constructor (private readonly join: boolean) {}

  record (buf: Buffer, start: number, end: number): void {
    const h = recordHeader(buf, start, end)
    if (h === undefined) return
    const data = buf.subarray(h.content, h.full ? end + 1 : end)
    if (!this.join) {
      this.out.push({ time: buf.toString('latin1', start, h.timeEnd), stream: h.stream, data })
      return
    }
    // A record big enough to go alone is not copied into a joined one.
    if (data.length >= JOIN_BYTES / 8) {
      this.flush()
      this.out.push({ time: buf.toString('latin1', start, h.timeEnd), stream: h.stream, data })
      return
    }
    if (this.size > 0 && (h.stream !== this.stream || this.size >= JOIN_BYTES)) this.flush()
    if (this.size === 0) {
      this.time = buf.toString('latin1', start, h.timeEnd)
      this.stream = h.stream
    }
    this.parts.push(data)
    this.size += data.length
  }

  done (): LogEntry[] {
    this.flush()
    return this.out
  }

  private flush (): void {
    if (this.parts.length === 0) return
    this.out.push({ time: this.time, stream: this.stream, data: this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size) })
    this.parts = []
    this.size = 0
  }
}
