// The node's images: pull (manifest lists resolved to this platform, layers fetched in parallel and
// verified against their digests and the config's diff_ids), list, remove, and prune what no image uses.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, messageOf } from '../../errors.ts'
import type { Table } from '../../store/store.ts'
import type { BlobTail } from './blob-tail.ts'
import { DEFAULT_PULL_LIMITS, type PullLimits } from './bounded-get.ts'
import { DigestMismatchError, type BlobCheck, type ContentStore } from './content-store.ts'
import type { DiffIdCheck } from './diff-id.ts'
import { fetchLayers, type LayerSources } from './layer-fetch.ts'
import { parseDiffIds, parseTopLevel, type Descriptor, type Layer } from './manifest.ts'
import { formatImageReference, parseImageReference, type ImageReference } from './reference.ts'
import { Registry, type RegistryHosts } from './registry.ts'
import { diskUsage, type UsageRow } from './disk-usage.ts'
import { blobsOf, pruneRoots, withHeldImages, type ImageUser } from './unpacked-roots.ts'

export interface LayerRecord {
  digest: string
  size: number
  mediaType: string
  /** The digest of the uncompressed tar, as the config says and the pull checked. */
  diffId?: string
}

export interface ImageRecord {
  name: string
  repository: string
  tag: string
  digest: string
  manifest: string
  config: string
  layers: LayerRecord[]
  size: number
  created: string
  pulledAt: number
}

export interface PullProgress {
  layer: string
  status: 'resolving' | 'exists' | 'downloading' | 'done' | 'unpacking' | 'unpacked'
  current: number
  total: number
}

/** Unpacks an image's layers into its root (once), saying how far it is per layer: the container driver's. */
export type Unpacker = (image: ImageRecord, onLayer: (index: number, current: number, total: number) => void, sources?: LayerSources) => Promise<unknown>

const PLATFORM = { os: 'linux', architecture: ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch }

export class Images {
  constructor (
    private readonly table: Table<ImageRecord>,
    private readonly content: ContentStore,
    private readonly dataDir: string,
    private readonly unpack?: Unpacker,
    /** Told of each image pulled (and unpacked), for `aurae events`. */
    private readonly onPulled: (image: ImageRecord) => void = () => {}
  ) {}

  /** Registries config (`<data>/registries.json`) and credentials (`<data>/auth.json`), read at each pull. */
  async hosts (): Promise<RegistryHosts> {
    const read = async (file: string): Promise<any> => {
      const path = join(this.dataDir, file)
      try {
        return JSON.parse(await readFile(path, 'utf8').catch(() => '{}')) ?? {}
      } catch {
        throw new FailedPreconditionError(`${path} is not valid JSON`)
      }
    }
    const config = await read('registries.json')
    return { mirrors: config.mirrors ?? {}, insecure: config.insecure ?? [], auth: await read('auth.json'), limits: pullLimits(config.pull, join(this.dataDir, 'registries.json')) }
  }

  /** Stores credentials for a registry once the registry has accepted them; refused ones leave the stored ones as they were. */
  async login (registry: string, username: string, password: string): Promise<void> {
    if (registry === '' || username === '') throw new InvalidArgumentError('login needs a registry and a username')
    const hosts = await this.hosts()
    const trial = { ...hosts, auth: { ...hosts.auth, [registry]: { username, password } } }
    await new Registry(trial).verifyLogin(registry)
    hosts.auth[registry] = { username, password }
    await writeFile(join(this.dataDir, 'auth.json'), JSON.stringify(hosts.auth, null, 2), { mode: 0o600 })
  }

  /** Pulls an image; `signal` (the client going away) ends it and everything it has under way. */
  async pull (text: string, onProgress: (p: PullProgress) => void = () => {}, signal?: AbortSignal): Promise<ImageRecord> {
    const ref = parseImageReference(text)
    const registry = new Registry(await this.hosts(), signal)
    const failures: string[] = []
    for (const endpoint of registry.endpoints(ref.registry)) {
      let image: ImageRecord
      let unpacked: Promise<unknown>
      try {
        ({ image, unpacked } = await this.pullFrom(registry, endpoint, ref, onProgress))
      } catch (err) {
        // No other endpoint mends a corrupt image, a full disk or a client that left.
        if (err instanceof DigestMismatchError || signal?.aborted === true) throw err
        if (err instanceof ResourceExhaustedError) throw new ResourceExhaustedError(`cannot pull ${formatImageReference(ref)}: ${err.message}`)
        failures.push(messageOf(err))
        continue
      }
      // As Docker does, the pull unpacks, so the first run starts at once; a full disk is said as the unpack says it.
      await unpacked.catch(err => {
        throw err instanceof ResourceExhaustedError ? err : new FailedPreconditionError(`cannot unpack ${image.name}: ${messageOf(err)}`)
      })
      this.onPulled(image)
      return image
    }
    const notFound = failures.every(f => / not found at /.test(f))
    const message = `cannot pull ${formatImageReference(ref)}: ${failures.join('; ')}`
    throw notFound ? new NotFoundError(message) : new FailedPreconditionError(message)
  }

  /**
   * Fetches an image's blobs from one endpoint, unpacking its layers as they arrive; answers once every blob is
   * verified and stored (or, on a failure, once the unpack under way has cleared what it made), with the unpack.
   */
  private async pullFrom (registry: Registry, endpoint: string, ref: ImageReference, onProgress: (p: PullProgress) => void): Promise<{ image: ImageRecord, unpacked: Promise<unknown> }> {
    onProgress({ layer: '', status: 'resolving', current: 0, total: 0 })
    const top = await registry.manifest(endpoint, ref)
    let manifest = top
    let parsed = parseTopLevel(top.bytes, top.mediaType, `manifest ${top.digest} from ${endpoint}`)
    if (parsed.kind === 'index') {
      const match = parsed.manifests.find(m => m.platform?.os === PLATFORM.os && m.platform?.architecture === PLATFORM.architecture)
      if (match === undefined) throw new NotFoundError(`${formatImageReference(ref)} has no image for ${PLATFORM.os}/${PLATFORM.architecture}`)
      manifest = await registry.manifest(endpoint, ref, match.digest, match.size)
      parsed = parseTopLevel(manifest.bytes, match.mediaType, `manifest ${manifest.digest} from ${endpoint}`)
      if (parsed.kind !== 'manifest') throw new FailedPreconditionError(`manifest ${manifest.digest} from ${endpoint} is invalid: an index lists another index for ${PLATFORM.os}/${PLATFORM.architecture}`)
      await this.content.put(top.digest, top.bytes)
    }
    await this.content.put(manifest.digest, manifest.bytes)
    const { config, layers } = parsed
    const reportOf = (layer: Layer) => (p: Omit<PullProgress, 'layer'>): void => onProgress({ layer: layer.digest.slice(7, 19), ...p })
    const fetchBlob = async (blob: Descriptor, report: (p: Omit<PullProgress, 'layer'>) => void, check?: BlobCheck, tail?: BlobTail): Promise<void> => {
      let current = 0
      await this.content.ingest(blob.digest, blob.size, await registry.blob(endpoint, ref, blob.digest, blob.size), {
        check,
        tail,
        onBytes: n => {
          current += n
          report({ status: 'downloading', current, total: blob.size })
        }
      })
      report({ status: 'done', current: blob.size, total: blob.size })
    }
    if (!await this.content.has(config.digest)) await fetchBlob(config, () => {})
    const configBytes = await this.content.read(config.digest)
    const diffIds = parseDiffIds(configBytes, layers.length, `config ${config.digest} from ${endpoint}`)
    const created = (JSON.parse(configBytes.toString()) as { created?: unknown }).created
    const record: ImageRecord = {
      name: formatImageReference(ref),
      repository: `${ref.registry}/${ref.repository}`,
      tag: ref.tag,
      digest: top.digest,
      manifest: manifest.digest,
      config: config.digest,
      layers: layers.map((l, i) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: diffIds[i] })),
      size: config.size + layers.reduce((n, l) => n + l.size, 0),
      created: typeof created === 'string' ? created : '',
      pulledAt: 0
    }
    // The unpack starts now and takes each layer's bytes as they arrive (a stored layer once it is checked).
    const { unpacked } = await fetchLayers({
      layers,
      diffIds,
      has: async layer => await this.content.has(layer.digest),
      storedBytes: layer => storedBytes(this.content, layer.digest),
      checkStored: async (layer, diffId, check) => await this.checkStored(layer, diffId, check),
      download: async (layer, check, tail) => await fetchBlob(layer, reportOf(layer), check, tail),
      exists: layer => reportOf(layer)({ status: 'exists', current: layer.size, total: layer.size }),
      unpack: this.unpack === undefined ? undefined : async sources => await this.unpack?.(record, unpackReporter(record, onProgress), sources)
    })
    record.pulledAt = Date.now()
    await this.table.put(record.name, record)
    return { image: record, unpacked }
  }

  /** A layer already stored is checked against this config's diff_id unless an image already did so. */
  private async checkStored (layer: Layer, diffId: string, check: DiffIdCheck): Promise<void> {
    const known = (await this.table.values()).some(image => image.layers.some(l => l.digest === layer.digest && l.diffId === diffId))
    if (known) return
    for await (const chunk of this.content.stream(layer.digest)) await check.write(chunk as Buffer)
    await check.end()
  }

  async list (): Promise<ImageRecord[]> {
    return (await this.table.values()).sort((a, b) => a.name.localeCompare(b.name))
  }

  /**
   * Forgets an image, and its unpacked root when nothing else uses that. An image a workload on record
   * uses (running or not removed) stays unless `force`, as Docker's `rmi` refuses without `-f`.
   */
  async remove (text: string, users: ImageUser[] = [], force = false): Promise<ImageRecord> {
    const name = formatImageReference(parseImageReference(text))
    const record = await this.table.get(name)
    if (record === undefined) throw new NotFoundError(`no image ${name}`)
    const using = users.filter(u => u.image === name).map(u => u.workload)
    if (using.length > 0 && !force) {
      throw new FailedPreconditionError(`image ${name} is used by ${using.length === 1 ? 'workload' : 'workloads'} ${using.join(', ')}; remove ${using.length === 1 ? 'it' : 'them'} first, or force with: aurae rmi -f ${text}`)
    }
    await this.table.del(name)
    await pruneRoots(this.dataDir, await this.table.values(), await withHeldImages(this.dataDir, users), record.config.slice(7))
    return record
  }

  /** Deletes every blob no image record or container refers to, and every unpacked root nothing uses. */
  async prune (given: ImageUser[] = []): Promise<{ blobs: number, bytes: number, roots: number, rootBytes: number }> {
    const images = await this.table.values()
    const users = await withHeldImages(this.dataDir, given)
    const used = new Set([...images, ...users.flatMap(u => u.held ?? [])].flatMap(blobsOf))
    let blobs = 0
    let bytes = 0
    for (const digest of await this.content.list()) {
      if (used.has(digest)) continue
      bytes += await this.content.size(digest)
      await this.content.delete(digest)
      blobs++
    }
    const { roots, bytes: rootBytes } = await pruneRoots(this.dataDir, images, users)
    return { blobs, bytes, roots, rootBytes }
  }

  /** What the node's disk holds, by kind, for `aurae system df`. */
  async diskUsage (users: ImageUser[]): Promise<UsageRow[]> {
    return await diskUsage(this.dataDir, this.content, await this.table.values(), await withHeldImages(this.dataDir, users))
  }
}

/** A stored blob's bytes, opened only if read: an unpack that has no need of them holds no file. */
async function * storedBytes (content: ContentStore, digest: string): AsyncGenerator<Uint8Array> {
  yield * content.stream(digest) as AsyncIterable<Uint8Array>
}

/** Progress of an unpack per layer, at most about a hundred reports a layer. */
function unpackReporter (image: ImageRecord, onProgress: (p: PullProgress) => void): (index: number, current: number, total: number) => void {
  const told = new Map<number, number>()
  return (index, current, total) => {
    const last = told.get(index)
    const finished = current >= total
    if (last !== undefined && !finished && current - last < total / 100) return
    if (last === total) return
    told.set(index, finished ? total : current)
    onProgress({ layer: image.layers[index].digest.slice(7, 19), status: finished ? 'unpacked' : 'unpacking', current: Math.min(current, total), total })
  }
}

/** The pull's time limits from registries.json's `"pull"` object, each a positive number or left out. */
function pullLimits (given: unknown, file: string): PullLimits {
  const limits = { ...DEFAULT_PULL_LIMITS }
  if (given === undefined) return limits
  if (typeof given !== 'object' || given === null) throw new FailedPreconditionError(`${file}: "pull" must be an object`)
  for (const [key, value] of Object.entries(given)) {
    if (!(key in limits)) throw new FailedPreconditionError(`${file}: unknown setting pull.${key} (known: ${Object.keys(limits).join(', ')})`)
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new FailedPreconditionError(`${file}: pull.${key} must be a positive number`)
    limits[key as keyof PullLimits] = value
  }
  return limits
}
