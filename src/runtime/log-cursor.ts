// A position in a workload's log that moves forward across its files as the monitor rotates them.
// Files are told apart by inode, not by name: the live file is renamed under a reader, which then
// finishes it and goes on to the next rotated file by number, so none is skipped.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs'
import { MAX_RECORD, recordHeader } from './cri-record.ts'
import { rotatedFiles, rotatedPath } from './log-files.ts'

/** How much one read takes. */
export const READ_BYTES = 256 * 1024

interface OpenFile {
  fd: number
  ino: number
  /** Its rotated number; undefined for a file opened as the live one. */
  n?: number
  /** Seen renamed away: what is in it now is all it will ever hold. */
  final: boolean
}

export class LogCursor {
  private file?: OpenFile
  private offset = 0
  private stopAt?: { ino: number, size: number }

  constructor (private readonly path: string) {}

  /** Makes `read` stop at the end the live file has now, even if the workload goes on writing. */
  stopAtCurrentEnd (): void {
    try {
      const st = statSync(this.path)
      this.stopAt = { ino: st.ino, size: st.size }
    } catch (err) {
      if (!isMissing(err)) throw err
    }
  }

  /** Moves to the start of the last `n` lines written so far, counting back from the end without holding them. */
  seekTail (n: number): void {
    this.close()
    const live = this.open(this.path)
    const files: OpenFile[] = live === undefined ? [] : [live]
    const older = rotatedFiles(this.path).reverse()
    const counter = tailCounter(n)
    let found: { at: number, index: number } | undefined
    for (let i = 0; found === undefined; i++) {
      if (i === files.length) {
        const next = this.openOlder(older, live)
        if (next === undefined) break
        files.push(next)
      }
      const size = i === 0 && live !== undefined && this.stopAt?.ino === live.ino ? this.stopAt.size : fstatSync(files[i].fd).size
      for (const rec of recordsBackward(files[i].fd, size)) {
        if (counter(rec.buf, rec.start, rec.end)) {
          found = { at: rec.at + (rec.end - rec.start) + 1, index: i }
          break
        }
      }
    }
    const index = found?.index ?? files.length - 1
    for (let i = 0; i < files.length; i++) if (i !== index) closeSync(files[i].fd)
    if (index >= 0) {
      this.file = files[index]
      this.offset = found?.at ?? 0
    }
  }

  /** The next bytes of the log, or undefined at the end of what is written (or of what `stopAtCurrentEnd` allowed).
   * They are read into `into` when given (which the caller may then reuse), else into a new buffer. */
  read (into?: Buffer): Buffer | undefined {
    for (let turns = 0; turns < 1000; turns++) {
      if (this.file === undefined && !this.openAfter(undefined)) return undefined
      const file = this.file as OpenFile
      let want = into?.length ?? READ_BYTES
      if (this.stopAt !== undefined && this.stopAt.ino === file.ino) want = Math.min(want, this.stopAt.size - this.offset)
      if (want <= 0) return undefined
      const buf = into ?? Buffer.allocUnsafe(want)
      const got = readSync(file.fd, buf, 0, want, this.offset)
      if (got > 0) {
        this.offset += got
        return buf.subarray(0, got)
      }
      if (file.n === undefined && !file.final) {
        if (this.isLive(file)) return undefined
        // Renamed away: the monitor wrote its last record before the rename, so read it to its end once more.
        file.final = true
        continue
      }
      if (!this.openAfter(file.n ?? this.numberOf(file))) return undefined
    }
    return undefined
  }

  close (): void {
    if (this.file !== undefined) closeSync(this.file.fd)
    this.file = undefined
  }

  /** Moves to the oldest file newer than rotated file `after` (all of them when undefined), or to the live one. */
  private openAfter (after: number | undefined): boolean {
    for (let tries = 0; tries < 100; tries++) {
      const newer = rotatedFiles(this.path).filter(n => after === undefined || n > after)
      if (newer.length > 0) {
        const f = this.open(rotatedPath(this.path, newer[0]), newer[0])
        if (f === undefined) continue
        this.switchTo(f)
        return true
      }
      const live = this.open(this.path)
      if (live === undefined) return false
      // A rotation between the listing and the open would skip the file it renamed: look again.
      const again = rotatedFiles(this.path).filter(n => after === undefined || n > after)
      if (again.length > 0 && inodeOf(rotatedPath(this.path, again[0])) !== live.ino) {
        closeSync(live.fd)
        continue
      }
      this.switchTo(live)
      return true
    }
    return false
  }

  private switchTo (f: OpenFile): void {
    this.close()
    this.file = f
    this.offset = 0
  }

  /** The next older rotated file that is not `live` itself (renamed since it was opened). */
  private openOlder (older: number[], live: OpenFile | undefined): OpenFile | undefined {
    for (let n = older.shift(); n !== undefined; n = older.shift()) {
      const f = this.open(rotatedPath(this.path, n), n)
      if (f === undefined) continue
      if (f.ino !== live?.ino) return f
      closeSync(f.fd)
    }
    return undefined
  }

  /** The rotated number a file opened as the live one has now; undefined once it has been deleted. */
  private numberOf (file: OpenFile): number | undefined {
    for (const n of rotatedFiles(this.path).reverse()) if (inodeOf(rotatedPath(this.path, n)) === file.ino) return n
    return undefined
  }

  private isLive (file: OpenFile): boolean {
    const ino = inodeOf(this.path)
    return ino === undefined || ino === file.ino
  }

  private open (path: string, n?: number): OpenFile | undefined {
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (err) {
      if (isMissing(err)) return undefined
      throw err
    }
    return { fd, ino: fstatSync(fd).ino, n, final: n !== undefined }
  }
}

/** A counter fed records from the end backwards: true at the record just before the last `n` lines.
 * A line ends with a full (F) record; a stream's trailing partial (P) records count as its last line. */
function tailCounter (n: number): (buf: Buffer, start: number, end: number) => boolean {
  let count = 0
  const seen = new Set<string>()
  return (buf, start, end) => {
    const h = recordHeader(buf, start, end)
    if (h === undefined) return false
    const ends = h.full || !seen.has(h.stream)
    seen.add(h.stream)
    return ends && ++count > n
  }
}

/** The records of the first `size` bytes of a file, last first, read in chunks; bytes after the last newline are a write in progress. */
function * recordsBackward (fd: number, size: number): Generator<{ buf: Buffer, start: number, end: number, at: number }> {
  let hi = size
  let carry = Buffer.alloc(0)
  let skipTail = true
  while (hi > 0) {
    const lo = Math.max(0, hi - READ_BYTES)
    const chunk = Buffer.allocUnsafe(hi - lo)
    readFully(fd, chunk, lo)
    const buf = carry.length > 0 ? Buffer.concat([chunk, carry]) : chunk
    let end = skipTail ? buf.lastIndexOf(10) + 1 : buf.length
    if (end > 0) skipTail = false
    while (end > 0) {
      const nl = end - 1
      const prev = nl > 0 ? buf.lastIndexOf(10, nl - 1) : -1
      if (prev < 0 && lo > 0) break
      yield { buf, start: prev + 1, end: nl, at: lo + prev + 1 }
      end = prev + 1
    }
    carry = buf.subarray(0, end)
    if (carry.length > MAX_RECORD) {
      carry = Buffer.alloc(0)
      skipTail = true
    }
    hi = lo
  }
}

function readFully (fd: number, buf: Buffer, position: number): void {
  for (let got = 0; got < buf.length;) {
    const n = readSync(fd, buf, got, buf.length - got, position + got)
    if (n === 0) throw new Error('the log file shrank while it was read')
    got += n
  }
}

function inodeOf (path: string): number | undefined {
  try {
    return statSync(path).ino
  } catch (err) {
    if (isMissing(err)) return undefined
    throw err
  }
}

function isMissing (err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT'
}
