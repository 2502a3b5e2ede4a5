// The node's images: pull (manifest lists resolved to this platform, layers fetched in parallel and
// verified), list, remove, and prune what no image uses.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, messageOf } from '../../errors.ts'
import type { Table } from '../../store/store.ts'
import { DigestMismatchError, type ContentStore } from './content-store.ts'
import { formatImageReference, parseImageReference, type ImageReference } from './reference.ts'
import { MEDIA, Registry, type Fetched, type RegistryHosts } from './registry.ts'

export interface LayerRecord {
  digest: string
  size: number
  mediaType: string
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
  status: 'resolving' | 'exists' | 'downloading' | 'done'
  current: number
  total: number
}

const PARALLEL_LAYERS = 3
const PLATFORM = { os: 'linux', architecture: ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch }

export class Images {
  constructor (
    private readonly table: Table<ImageRecord>,
    private readonly content: ContentStore,
    private readonly dataDir: string
  ) {}

  /** Registries config (`<data>/registries.json`) and credentials (`<data>/auth.json`), read at each pull. */
  async hosts (): Promise<RegistryHosts> {
    const read = async (file: string): Promise<any> => JSON.parse(await readFile(join(this.dataDir, file), 'utf8').catch(() => '{}'))
    const config = await read('registries.json')
    return { mirrors: config.mirrors ?? {}, insecure: config.insecure ?? [], auth: await read('auth.json') }
  }

  async login (registry: string, username: string, password: string): Promise<void> {
    if (registry === '' || username === '') throw new InvalidArgumentError('login needs a registry and a username')
    const hosts = await this.hosts()
    hosts.auth[registry] = { username, password }
    await writeFile(join(this.dataDir, 'auth.json'), JSON.stringify(hosts.auth, null, 2), { mode: 0o600 })
  }

  async pull (text: string, onProgress: (p: PullProgress) => void = () => {}): Promise<ImageRecord> {
    const ref = parseImageReference(text)
    const registry = new Registry(await this.hosts())
    const failures: string[] = []
    for (const endpoint of registry.endpoints(ref.registry)) {
      try {
        return await this.pullFrom(registry, endpoint, ref, onProgress)
      } catch (err) {
        if (err instanceof DigestMismatchError) throw err
        failures.push(messageOf(err))
      }
    }
    const notFound = failures.every(f => / not found at /.test(f))
    const message = `cannot pull ${formatImageReference(ref)}: ${failures.join('; ')}`
    throw notFound ? new NotFoundError(message) : new FailedPreconditionError(message)
  }

  private async pullFrom (registry: Registry, endpoint: string, ref: ImageReference, onProgress: (p: PullProgress) => void): Promise<ImageRecord> {
    onProgress({ layer: '', status: 'resolving', current: 0, total: 0 })
    const top = await registry.manifest(endpoint, ref)
    let manifest: Fetched = top
    if (isIndex(top)) {
      const index = JSON.parse(top.bytes.toString()) as { manifests?: Array<{ digest: string, platform?: { os?: string, architecture?: string } }> }
      const match = index.manifests?.find(m => m.platform?.os === PLATFORM.os && m.platform?.architecture === PLATFORM.architecture)
      if (match === undefined) throw new NotFoundError(`${formatImageReference(ref)} has no image for ${PLATFORM.os}/${PLATFORM.architecture}`)
      manifest = await registry.manifest(endpoint, ref, match.digest)
      await this.content.put(top.digest, top.bytes)
    }
    const body = JSON.parse(manifest.bytes.toString()) as { config?: LayerRecord, layers?: LayerRecord[] }
    if (body.config === undefined || !Array.isArray(body.layers)) throw new FailedPreconditionError(`manifest ${manifest.digest} is not an image manifest`)
    await this.content.put(manifest.digest, manifest.bytes)
    const config = body.config
    const layers = body.layers.map(l => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }))
    const fetchBlob = async (blob: LayerRecord, report: boolean): Promise<void> => {
      const short = blob.digest.slice(7, 19)
      if (await this.content.has(blob.digest)) {
        if (report) onProgress({ layer: short, status: 'exists', current: blob.size, total: blob.size })
        return
      }
      let current = 0
      await this.content.ingest(blob.digest, blob.size, await registry.blob(endpoint, ref, blob.digest), n => {
        current += n
        if (report) onProgress({ layer: short, status: 'downloading', current, total: blob.size })
      })
      if (report) onProgress({ layer: short, status: 'done', current: blob.size, total: blob.size })
    }
    await fetchBlob(config, false)
    // After a failure no new layer starts, and the pull answers only once the ones under way have ended.
    const queue = [...layers]
    const workers = await Promise.allSettled(Array.from({ length: PARALLEL_LAYERS }, async () => {
      for (let l = queue.shift(); l !== undefined; l = queue.shift()) {
        try {
          await fetchBlob(l, true)
        } catch (err) {
          queue.length = 0
          throw err
        }
      }
    }))
    const failed = workers.find(w => w.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    const cfg = JSON.parse((await this.content.read(config.digest)).toString()) as { created?: string }
    const record: ImageRecord = {
      name: formatImageReference(ref),
      repository: `${ref.registry}/${ref.repository}`,
      tag: ref.tag,
      digest: top.digest,
      manifest: manifest.digest,
      config: config.digest,
      layers,
      size: config.size + layers.reduce((n, l) => n + l.size, 0),
      created: cfg.created ?? '',
      pulledAt: Date.now()
    }
    await this.table.put(record.name, record)
    return record
  }

  async list (): Promise<ImageRecord[]> {
    return (await this.table.values()).sort((a, b) => a.name.localeCompare(b.name))
  }

  async remove (text: string): Promise<ImageRecord> {
    const name = formatImageReference(parseImageReference(text))
    const record = await this.table.get(name)
    if (record === undefined) throw new NotFoundError(`no image ${name}`)
    await this.table.del(name)
    return record
  }

  /** Deletes every blob no image record refers to. */
  async prune (): Promise<{ blobs: number, bytes: number }> {
    const used = new Set<string>()
    for (const image of await this.table.values()) {
      for (const d of [image.digest, image.manifest, image.config, ...image.layers.map(l => l.digest)]) used.add(d)
    }
    let blobs = 0
    let bytes = 0
    for (const digest of await this.content.list()) {
      if (used.has(digest)) continue
      bytes += await this.content.size(digest)
      await this.content.delete(digest)
      blobs++
    }
    return { blobs, bytes }
  }
}

function isIndex (f: Fetched): boolean {
  if (f.mediaType === MEDIA.ociIndex || f.mediaType === MEDIA.dockerList) return true
  try {
    return Array.isArray(JSON.parse(f.bytes.toString()).manifests)
  } catch {
    return false
  }
}
