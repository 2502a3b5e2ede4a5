// An image's layers fetched a few at a time while its unpack applies them in order as they arrive:
// each layer's bytes go once into the content store, and the unpack reads them back as they are
// written (page cache), decompressing them once for both the root and the diff_id check.
import { BlobTail } from './blob-tail.ts'
import type { BlobCheck } from './content-store.ts'
import { DiffIdOfUnpack } from './diff-id-of-unpack.ts'
import { DiffIdCheck } from './diff-id.ts'
import type { Layer } from './manifest.ts'

const PARALLEL_LAYERS = 3

/** One layer as the unpack takes it from a pull. */
export interface LayerFeed {
  /** Its compressed bytes as they arrive; they end once every byte is in, verified or not yet. */
  bytes: AsyncIterable<Uint8Array>
  /** Told the digest of the whole uncompressed tar the unpack read (undefined if it stopped short): the diff_id check. */
  unpacked?: (digest: string | undefined) => void
  /** Settles once the layer is verified and stored, and fails if it is not: nothing made of it is trusted before. */
  stored: Promise<void>
}

/** Layer `index` of the image, once its fetch has begun. */
export type LayerSources = (index: number) => Promise<LayerFeed>

export interface LayerFetch {
  layers: Layer[]
  diffIds: string[]
  /** Whether the store already holds the layer, and its bytes if so. */
  has: (layer: Layer) => Promise<boolean>
  storedBytes: (layer: Layer) => AsyncIterable<Uint8Array>
  /** Checks a stored layer against `diffId` (unless an image already did). */
  checkStored: (layer: Layer, diffId: string, check: DiffIdCheck) => Promise<void>
  /** Downloads and stores a layer through `check`, followed by `tail`. */
  download: (layer: Layer, check: BlobCheck, tail?: BlobTail) => Promise<void>
  /** Says a layer was already stored. */
  exists: (layer: Layer) => void
  /** The unpack, fed by the fetches. */
  unpack?: (sources: LayerSources) => Promise<unknown>
}

/**
 * Fetches the layers; resolves once every one is verified and stored, with the unpack (still going). On a
 * failure no new layer starts, and it throws once the fetches and the unpack under way have ended (the unpack
 * having cleared what it made).
 */
export async function fetchLayers (f: LayerFetch): Promise<{ unpacked: Promise<unknown> }> {
  const feeds = f.layers.map(() => settled<LayerFeed>())
  const tails: BlobTail[] = []
  const fedChecks: DiffIdOfUnpack[] = []
  const unpacked = f.unpack?.(async i => await feeds[i].promise) ?? Promise.resolve()
  // Once the unpack has ended, layers it did not read whole are checked by reading them.
  let ended = false
  const unpackEnded = (): void => {
    ended = true
    for (const c of fedChecks) c.unpacked(undefined)
  }
  unpacked.then(unpackEnded, unpackEnded)

  const fetchLayer = async (layer: Layer, i: number): Promise<void> => {
    const name = `layer ${i + 1} (${layer.digest})`
    const stored = settled<void>()
    try {
      if (await f.has(layer)) {
        const check = new DiffIdCheck(layer.compression, layer.digest, f.diffIds[i], name)
        try {
          await f.checkStored(layer, f.diffIds[i], check)
        } finally {
          check.destroy()
        }
        stored.resolve()
        feeds[i].resolve({ bytes: f.storedBytes(layer), stored: stored.promise })
        f.exists(layer)
        return
      }
      // No unpack will read this layer: it is checked as it downloads.
      if (f.unpack === undefined || ended) {
        const check = new DiffIdCheck(layer.compression, layer.digest, f.diffIds[i], name)
        try {
          return await f.download(layer, check)
        } finally {
          check.destroy()
        }
      }
      const tail = new BlobTail()
      tails.push(tail)
      // An uncompressed layer's diff_id is its digest: nothing to decompress for it.
      const check = layer.compression === 'none' ? new DiffIdCheck('none', layer.digest, f.diffIds[i], name) : new DiffIdOfUnpack(layer.compression, layer.digest, f.diffIds[i], name, tail)
      if (check instanceof DiffIdOfUnpack) fedChecks.push(check)
      feeds[i].resolve({ bytes: tail.read(), unpacked: check instanceof DiffIdOfUnpack ? d => check.unpacked(d) : undefined, stored: stored.promise })
      try {
        await f.download(layer, check, tail)
      } catch (err) {
        tail.fail(err as Error)
        throw err
      }
      stored.resolve()
    } catch (err) {
      stored.reject(err)
      feeds[i].reject(err)
      throw err
    }
  }

  const queue = f.layers.map((layer, i) => ({ layer, i }))
  const workers = await Promise.allSettled(Array.from({ length: PARALLEL_LAYERS }, async () => {
    for (let l = queue.shift(); l !== undefined; l = queue.shift()) {
      try {
        await fetchLayer(l.layer, l.i)
      } catch (err) {
        queue.length = 0
        throw err
      }
    }
  }))
  const letGo = (): void => { for (const t of tails) t.close() }
  const failed = workers.find(w => w.status === 'rejected')
  if (failed !== undefined) {
    // The layers never started end the unpack too.
    for (const feed of feeds) feed.reject(failed.reason)
    await unpacked.catch(() => {})
    letGo()
    throw failed.reason
  }
  return { unpacked: unpacked.finally(letGo) }
}

/** A promise settled from outside, that no one need await. */
function settled<T> (): { promise: Promise<T>, resolve: (value: T) => void, reject: (reason: unknown) => void } {
  let resolve: (value: T) => void = () => {}
  let reject: (reason: unknown) => void = () => {}
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  promise.catch(() => {})
  return { promise, resolve, reject }
}
