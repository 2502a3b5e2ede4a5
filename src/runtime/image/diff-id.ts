// Checks a layer against its image config's diff_id (the digest of its uncompressed tar) while its
// compressed bytes stream in. A worker thread decompresses (on zlib's thread pool) and hashes, so
// the download's own thread only copies each chunk over.
import { Worker } from 'node:worker_threads'
import { DigestMismatchError, type BlobCheck } from './content-store.ts'
import type { FromWorker } from './diff-id-worker.ts'
import type { Compression } from './layer-format.ts'

/** Bytes in flight to the worker before a writer waits, and the level at which it goes on. */
const HIGH = 4 * 1024 * 1024
const LOW = 2 * 1024 * 1024
/** Bytes copied together and handed to the worker in one message. */
const BATCH = 256 * 1024
/** An idle worker goes after this long, so an idle daemon holds no thread. */
const IDLE_MS = 10_000

let worker: Worker | undefined
let idle: NodeJS.Timeout | undefined
let nextId = 0
const checks = new Map<number, { receive: (m: FromWorker) => void, fail: (err: Error) => void }>()

function hire (): Worker {
  clearTimeout(idle)
  if (worker !== undefined) return worker
  const w = new Worker(new URL(`./diff-id-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url))
  w.unref()
  w.on('message', (m: FromWorker) => checks.get(m.id)?.receive(m))
  const lost = (why: string): void => {
    if (worker !== w) return
    worker = undefined
    for (const c of checks.values()) c.fail(new Error(`the layer checker stopped: ${why}`))
    checks.clear()
  }
  w.on('error', err => lost(err.message))
  w.on('exit', code => lost(`exit ${code}`))
  worker = w
  return w
}

function release (id: number): void {
  checks.delete(id)
  if (checks.size > 0) return
  clearTimeout(idle)
  idle = setTimeout(() => {
    const w = worker
    worker = undefined
    void w?.terminate()
  }, IDLE_MS)
  idle.unref()
}

/** Throws unless a layer's uncompressed digest is the diff_id its image's config names. */
export function holdsDiffId (layer: string, actual: string, diffId: string): void {
  if (actual !== diffId) throw new DigestMismatchError(`${layer} does not match the image's config: its uncompressed content is ${actual}, the config's diff_id says ${diffId}`)
}

export class DiffIdCheck implements BlobCheck {
  private readonly id = nextId++
  private outstanding = 0
  private waiting: (() => void) | undefined
  private failure: Error | undefined
  private batch = new Uint8Array(0)
  private filled = 0
  /** The uncompressed digest, from the worker; none for an uncompressed layer, whose diff_id is its digest. */
  private readonly result: Promise<string> | undefined

  /** `layer` names it in messages; `digest` is its compressed digest. */
  constructor (compression: Compression, private readonly digest: string, private readonly diffId: string, private readonly layer: string) {
    if (compression === 'none') return
    let resolve: (digest: string) => void = () => {}
    let reject: (err: Error) => void = () => {}
    this.result = new Promise<string>((res, rej) => { resolve = res; reject = rej })
    this.result.catch((err: Error) => { this.failure = err })
    checks.set(this.id, {
      receive: m => {
        if ('taken' in m) {
          this.outstanding -= m.taken
          if (this.outstanding < LOW) this.wake()
          return
        }
        release(this.id)
        if ('digest' in m) resolve(m.digest)
        else reject(new DigestMismatchError(`${this.layer} does not decompress: ${m.error}`))
        this.wake()
      },
      fail: err => {
        reject(err)
        this.wake()
      }
    })
    this.batch = new Uint8Array(BATCH)
    hire().postMessage({ id: this.id, op: 'start', compression })
  }

  write (chunk: Uint8Array): Promise<void> | undefined {
    if (this.result === undefined) return undefined
    if (this.failure !== undefined) throw this.failure
    // Chunks are copied into a batch of the check's own (the download's buffers stay the
    // download's), which is handed over whole when full: one message per BATCH bytes.
    for (let at = 0; at < chunk.length;) {
      const n = Math.min(chunk.length - at, BATCH - this.filled)
      this.batch.set(chunk.subarray(at, at + n), this.filled)
      this.filled += n
      at += n
      if (this.filled === BATCH) this.send()
    }
    if (this.outstanding <= HIGH) return undefined
    return new Promise(resolve => { this.waiting = resolve })
  }

  async end (): Promise<void> {
    let actual = this.digest
    if (this.result !== undefined) {
      this.send()
      worker?.postMessage({ id: this.id, op: 'end' })
      actual = await this.result
    }
    holdsDiffId(this.layer, actual, this.diffId)
  }

  destroy (): void {
    if (!checks.has(this.id)) return
    worker?.postMessage({ id: this.id, op: 'destroy' })
    release(this.id)
  }

  private send (): void {
    if (this.filled === 0) return
    const chunk = this.batch.subarray(0, this.filled)
    worker?.postMessage({ id: this.id, op: 'write', chunk }, [chunk.buffer])
    this.outstanding += this.filled
    this.batch = new Uint8Array(BATCH)
    this.filled = 0
  }

  private wake (): void {
    const w = this.waiting
    this.waiting = undefined
    w?.()
  }
}
