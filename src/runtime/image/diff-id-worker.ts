// The thread DiffIdCheck hands layers to: it decompresses them (on zlib's thread pool) and hashes
// the tar, so the download's own thread only copies each chunk over.
import { createHash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { youngCollector } from '../../common/young-gc.ts'
import { decompressor, type Compression } from './layer-format.ts'

export type ToWorker =
  | { id: number, op: 'start', compression: Compression }
  | { id: number, op: 'write', chunk: Uint8Array }
  | { id: number, op: 'end' }
  | { id: number, op: 'destroy' }

export type FromWorker =
  | { id: number, taken: number }
  | { id: number, digest: string }
  | { id: number, error: string }

/** Bytes taken are acknowledged in batches of about this size. */
const ACK_BYTES = 1024 * 1024

const port = parentPort
if (port === null) throw new Error('diff-id-worker runs as a worker thread')
const checks = new Map<number, { unzip: NonNullable<ReturnType<typeof decompressor>>, untold: number }>()
const post = (m: FromWorker): void => port.postMessage(m)

port.on('message', (m: ToWorker) => {
  if (m.op === 'start') {
    const unzip = decompressor(m.compression)
    if (unzip === undefined) throw new Error(`nothing to decompress in a ${m.compression} layer`)
    const hash = createHash('sha256')
    // Hashed once zlib has the next chunk in hand, so inflating and hashing overlap.
    const collect = youngCollector()
    unzip.on('data', (chunk: Buffer) => queueMicrotask(() => {
      hash.update(chunk)
      collect(chunk.length)
    }))
    unzip.on('error', err => {
      checks.delete(m.id)
      post({ id: m.id, error: err.message })
    })
    unzip.on('end', () => {
      checks.delete(m.id)
      post({ id: m.id, digest: `sha256:${hash.digest('hex')}` })
    })
    checks.set(m.id, { unzip, untold: 0 })
    return
  }
  const check = checks.get(m.id)
  if (check === undefined) return
  if (m.op === 'write') {
    check.unzip.write(m.chunk, () => {
      check.untold += m.chunk.length
      if (check.untold < ACK_BYTES) return
      post({ id: m.id, taken: check.untold })
      check.untold = 0
    })
  } else if (m.op === 'end') {
    check.unzip.end()
  } else {
    checks.delete(m.id)
    check.unzip.destroy()
  }
})
