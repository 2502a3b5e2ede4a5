// What a registry sends about an image, checked before any of it is used or stored: an index, an
// image manifest, an image config. A refusal says what is wrong, field by field.
import { FailedPreconditionError } from '../../errors.ts'
import { compressionOf, type Compression } from './layer-format.ts'
import { MAX_MANIFEST_BYTES, MEDIA } from './registry.ts'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
}

export interface Layer extends Descriptor {
  compression: Compression
}

export type TopLevel =
  | { kind: 'index', manifests: Array<Descriptor & { platform?: { os?: unknown, architecture?: unknown } }> }
  | { kind: 'manifest', config: Descriptor, layers: Layer[] }

const DIGEST = /^sha256:[a-f0-9]{64}$/
const CONFIG_TYPES = ['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']
/** No blob of an image is a terabyte; a size past this is a lie. */
const MAX_BLOB_BYTES = 2 ** 40

type Json = Record<string, unknown>

/** A value from the registry as a message may show it: JSON, cut short. */
function shown (value: unknown): string {
  const text = value === undefined ? 'none' : JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function refuse (subject: string, why: string): FailedPreconditionError {
  return new FailedPreconditionError(`${subject} is invalid: ${why}`)
}

function object (bytes: Buffer, subject: string): Json {
  let value: unknown
  try {
    value = JSON.parse(bytes.toString())
  } catch {
    throw refuse(subject, 'it is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse(subject, 'it is not a JSON object')
  return value as Json
}

/** A descriptor's fields, each checked; `max` bounds its size. */
function descriptor (value: unknown, where: string, subject: string, max = MAX_BLOB_BYTES): Descriptor {
  if (typeof value !== 'object' || value === null) throw refuse(subject, `${where} is not a descriptor`)
  const { mediaType, digest, size } = value as Json
  if (typeof mediaType !== 'string' || mediaType === '') throw refuse(subject, `${where} has no mediaType`)
  if (typeof digest !== 'string' || !DIGEST.test(digest)) throw refuse(subject, `${where} has digest ${shown(digest)}, not sha256: and 64 lowercase hex digits`)
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw refuse(subject, `${where} has size ${shown(size)}, not a byte count`)
  if (size > max) throw refuse(subject, `${where} says it is ${size} bytes, more than the ${max === MAX_MANIFEST_BYTES ? '4 MB' : '1 TB'} aurae accepts`)
  return { mediaType, digest, size }
}

/** An index or an image manifest, told apart by its media type (its own, or else the one it was served as). */
export function parseTopLevel (bytes: Buffer, servedAs: string, subject: string): TopLevel {
  const body = object(bytes, subject)
  if (body.schemaVersion !== 2) throw refuse(subject, `schemaVersion is ${shown(body.schemaVersion)}; aurae reads schema 2 only`)
  if (body.mediaType !== undefined && typeof body.mediaType !== 'string') throw refuse(subject, 'its mediaType is not a string')
  const mediaType = (body.mediaType as string | undefined) ?? servedAs
  if (mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList) {
    if (!Array.isArray(body.manifests)) throw refuse(subject, 'the index has no manifests list')
    return {
      kind: 'index',
      manifests: body.manifests.map((m: unknown, i) => ({ ...descriptor(m, `manifest ${i + 1}`, subject, MAX_MANIFEST_BYTES), platform: (m as Json).platform as never }))
    }
  }
  if (mediaType !== MEDIA.ociManifest && mediaType !== MEDIA.dockerManifest) {
    throw refuse(subject, mediaType === '' ? 'it has no mediaType' : `its mediaType ${shown(mediaType)} is neither an image manifest nor an index`)
  }
  const config = descriptor(body.config, 'its config', subject, MAX_MANIFEST_BYTES)
  if (!CONFIG_TYPES.includes(config.mediaType)) throw refuse(subject, `its config has mediaType ${shown(config.mediaType)}, not an image config`)
  if (!Array.isArray(body.layers)) throw refuse(subject, 'it has no layers list')
  const layers = body.layers.map((l: unknown, i): Layer => {
    const d = descriptor(l, `layer ${i + 1}`, subject)
    const compression = compressionOf(d.mediaType)
    if (compression === undefined) throw refuse(subject, `layer ${i + 1} has mediaType ${shown(d.mediaType)}, which aurae cannot unpack`)
    return { ...d, compression }
  })
  return { kind: 'manifest', config, layers }
}

/** The config's diff_ids (the digests of the uncompressed layers), one per layer of the manifest. */
export function parseDiffIds (bytes: Buffer, layers: number, subject: string): string[] {
  const rootfs = object(bytes, subject).rootfs as Json | undefined
  if (typeof rootfs !== 'object' || rootfs === null || !Array.isArray(rootfs.diff_ids)) throw refuse(subject, 'it has no rootfs.diff_ids')
  const ids = rootfs.diff_ids as unknown[]
  ids.forEach((id, i) => {
    if (typeof id !== 'string' || !DIGEST.test(id)) throw refuse(subject, `rootfs.diff_ids[${i}] is ${shown(id)}, not a sha256 digest`)
  })
  if (ids.length !== layers) throw refuse(subject, `it lists ${ids.length} diff_ids for the manifest's ${layers} layers`)
  return ids as string[]
}
