// Content-addressed blobs under <data>/content/sha256/, shared between images. A blob is written to
// ingest/ and moved into place only once its digest is verified, so nothing half-written is ever seen.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readFile, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { FailedPreconditionError, InvalidArgumentError, noSpaceOn } from '../../errors.ts'
import { youngCollector } from '../../common/young-gc.ts'
import type { Component } from '../../lifecycle.ts'
import type { BlobTail } from './blob-tail.ts'

const DIGEST = /^sha256:([a-f0-9]{64})$/

/** A blob whose bytes do not hash to the digest it was fetched under (mapped as a failed precondition). */
export class DigestMismatchError extends FailedPreconditionError {}

/** What ContentStore.ingest feeds each chunk to, and asks at the end whether the blob holds. */
export interface BlobCheck {
  /** Takes the next chunk; a promise when the writer should wait. */
  write: (chunk: Uint8Array) => Promise<void> | undefined
  /** Throws if the blob does not hold. */
  end: () => Promise<void>
  /** Frees what the check holds, after a failure elsewhere. */
  destroy: () => void
}

export interface IngestOptions {
  onBytes?: (n: number) => void
  /** A further check each chunk goes through, and that must hold before the blob is named. */
  check?: BlobCheck
  /** Follows the blob as it is written (an unpack while it downloads), told when every byte is in or why not. */
  tail?: BlobTail
}

export class ContentStore implements Component {
  private readonly blobs: string
  private readonly ingestDir: string

  constructor (private readonly root: string) {
    this.blobs = join(root, 'sha256')
    this.ingestDir = join(root, 'ingest')
  }

  /** Clears what an interrupted write left behind. */
  async start (): Promise<void> {
    await rm(this.ingestDir, { recursive: true, force: true })
    await mkdir(this.ingestDir, { recursive: true })
    await mkdir(this.blobs, { recursive: true })
  }

  /** Every write finishes or fails on its own, and a write cut short is cleared at the next start: nothing to do. */
  async stop (): Promise<void> {}

  path (digest: string): string {
    const m = DIGEST.exec(digest)
    if (m === null) throw new InvalidArgumentError(`invalid digest "${digest}"`)
    return join(this.blobs, m[1])
  }

  async has (digest: string): Promise<boolean> {
    return await stat(this.path(digest)).then(() => true, () => false)
  }

  async read (digest: string): Promise<Buffer> {
    return await readFile(this.path(digest))
  }

  stream (digest: string): NodeJS.ReadableStream {
    return createReadStream(this.path(digest))
  }

  /**
   * Stores `source` under `digest`, verifying size and hash (and `check`) while it streams; nothing
   * stays on a mismatch or a failure, and a full disk says so.
   */
  async ingest (digest: string, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: IngestOptions = {}): Promise<void> {
    const target = this.path(digest)
    const tmp = join(this.ingestDir, randomBytes(8).toString('hex'))
    const hash = createHash('sha256')
    const { onBytes, check, tail } = opts
    // The network's chunks die young; collected as they go, they never pile up into full collections.
    const collect = youngCollector()
    let fh: FileHandle
    try {
      fh = await open(tmp, 'wx', 0o600)
    } catch (err) {
      tail?.fail(err as Error)
      throw noSpaceOn(err, this.root)
    }
    tail?.attach(tmp)
    let written = 0
    let flushed = 0
    // Network chunks are small; gather them into large writes (one writev, no copy).
    let pending: Uint8Array[] = []
    let pendingBytes = 0
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return
      // A short write (the disk filling up) goes on from where it stopped, so the next write says why it cannot:
      // bytes counted as written are on the file, for the hash that was taken of them and for a reader following.
      const { bytesWritten } = await fh.writev(pending)
      if (bytesWritten < pendingBytes) {
        const rest = Buffer.concat(pending).subarray(bytesWritten)
        for (let at = 0; at < rest.length;) at += (await fh.write(rest, at)).bytesWritten
      }
      flushed += pendingBytes
      tail?.grew(flushed)
      onBytes?.(pendingBytes)
      pending = []
      pendingBytes = 0
    }
    try {
      try {
        for await (const chunk of source) {
          collect(chunk.length)
          hash.update(chunk)
          written += chunk.length
          if (size >= 0 && written > size) throw new DigestMismatchError(`blob ${digest} is larger than its ${size} bytes`)
          await check?.write(chunk)
          pending.push(chunk)
          pendingBytes += chunk.length
          // A reader at the end of the file (an unpack keeping up) gets each chunk as it comes.
          if (pendingBytes >= 1024 * 1024 || tail?.hungry === true) await flush()
        }
        await flush()
        tail?.seal()
        await fh.sync()
      } finally {
        await fh.close()
      }
      const actual = `sha256:${hash.digest('hex')}`
      if (actual !== digest || (size >= 0 && written !== size)) {
        throw new DigestMismatchError(`blob ${digest} failed verification: got ${actual} (${written} bytes)`)
      }
      await check?.end()
      await rename(tmp, target)
    } catch (err) {
      check?.destroy()
      await rm(tmp, { force: true })
      const said = noSpaceOn(err, this.root)
      tail?.fail(said as Error)
      throw said
    }
  }

  /** Stores bytes already in memory (manifests, configs) under their digest. */
  async put (digest: string, bytes: Uint8Array): Promise<void> {
    await this.ingest(digest, bytes.length, [bytes])
  }

  async delete (digest: string): Promise<void> {
    await rm(this.path(digest), { force: true })
  }

  async list (): Promise<string[]> {
    return (await readdir(this.blobs)).filter(f => /^[a-f0-9]{64}$/.test(f)).map(f => `sha256:${f}`)
  }

  async size (digest: string): Promise<number> {
    return (await stat(this.path(digest))).size
  }
}
