// A blob read while the content store is still writing it, so a layer unpacks as it downloads: the
// reader follows the ingest file as it grows and ends only once the blob is verified and named (or
// fails with the reason the ingest failed), so nothing made from it is trusted before its digest holds.
import { open, type FileHandle } from 'node:fs/promises'

/** Bytes read from the file at a time. */
const CHUNK = 256 * 1024

export class BlobTail {
  private file: Promise<FileHandle> | undefined
  private written = 0
  private ended = false
  private failure: Error | undefined
  private closed = false
  private wake: (() => void) | undefined
  /** A reader is waiting at the end of what is written: the writer should write what it holds now. */
  hungry = false

  /** The ingest's file, just created; it is read through its own descriptor, so a rename does not matter. */
  attach (path: string): void {
    this.file = open(path, 'r')
    this.file.catch(() => {})
  }

  /** The file now holds `total` bytes. */
  grew (total: number): void {
    this.written = total
    this.poke()
  }

  /** The blob is verified and stored (no `err`), or the ingest failed with `err`. */
  finish (err?: Error): void {
    this.ended = true
    this.failure ??= err
    this.poke()
  }

  /** The blob's bytes, as they are written; throws the ingest's failure. */
  async * read (): AsyncGenerator<Buffer> {
    let at = 0
    try {
      for (;;) {
        if (this.failure !== undefined) throw this.failure
        if (this.closed) throw new Error('the blob being read was closed')
        if (at < this.written && this.file !== undefined) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, this.written - at))
          const { bytesRead } = await (await this.file).read(buf, 0, buf.length, at)
          if (bytesRead === 0) throw new Error('the blob being read ended early')
          at += bytesRead
          yield buf.subarray(0, bytesRead)
          continue
        }
        if (this.ended) return
        this.hungry = true
        await new Promise<void>(resolve => { this.wake = resolve })
      }
    } finally {
      this.hungry = false
      this.close()
    }
  }

  /** Lets the file go, read or not; a reader still waiting fails. */
  close (): void {
    if (this.closed) return
    this.closed = true
    void this.file?.then(async fh => await fh.close(), () => {})
    this.poke()
  }

  private poke (): void {
    this.hungry = false
    const w = this.wake
    this.wake = undefined
    w?.()
  }
}
