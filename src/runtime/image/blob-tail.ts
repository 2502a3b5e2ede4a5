// A blob read while the content store is still writing it, so a layer unpacks as it downloads: each
// reader follows the ingest file as it grows, ends once every byte is in, and fails with the reason
// the ingest failed. Whether the blob holds is said apart (the ingest's own end), after the last byte.
import { open, type FileHandle } from 'node:fs/promises'

/** Bytes read from the file at a time. */
const CHUNK = 256 * 1024

export class BlobTail {
  private file: Promise<FileHandle> | undefined
  private written = 0
  private sealed = false
  private failure: Error | undefined
  private closed = false
  private waiting: Array<() => void> = []
  /** A reader is waiting at the end of what is written: the writer should write what it holds now. */
  hungry = false

  /** The ingest's file, just created; it is read through a descriptor of its own, so a rename does not matter. */
  attach (path: string): void {
    this.file = open(path, 'r')
    this.file.catch(() => {})
  }

  /** The file now holds `total` bytes. */
  grew (total: number): void {
    this.written = total
    this.poke()
  }

  /** Every byte is in the file. */
  seal (): void {
    this.sealed = true
    this.poke()
  }

  /** The ingest failed: readers still reading fail with `err`. */
  fail (err: Error): void {
    this.failure ??= err
    this.poke()
  }

  /** The blob's bytes from the start, as they are written; throws the ingest's failure. */
  async * read (): AsyncGenerator<Buffer> {
    let at = 0
    for (;;) {
      if (this.failure !== undefined) throw this.failure
      if (this.closed) throw new Error('the blob being read was let go')
      if (at < this.written && this.file !== undefined) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, this.written - at))
        const { bytesRead } = await (await this.file).read(buf, 0, buf.length, at)
        if (bytesRead === 0) throw new Error('the blob being read ended early')
        at += bytesRead
        yield buf.subarray(0, bytesRead)
        continue
      }
      if (this.sealed) return
      this.hungry = true
      await new Promise<void>(resolve => this.waiting.push(resolve))
    }
  }

  /** Lets the file go once nothing more will read it; a reader still waiting fails. */
  close (): void {
    if (this.closed) return
    this.closed = true
    void this.file?.then(async fh => await fh.close(), () => {})
    this.poke()
  }

  private poke (): void {
    this.hungry = false
    const waiting = this.waiting
    this.waiting = []
    for (const w of waiting) w()
  }
}
