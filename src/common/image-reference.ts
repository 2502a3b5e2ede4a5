// Image references as Docker reads them: `nginx` is docker.io/library/nginx:latest.
import { InvalidArgumentError } from '../errors.ts'

export interface ImageReference {
  /** Registry host, with a port if it has one (`docker.io`, `127.0.0.1:5000`). */
  registry: string
  /** Repository path within the registry (`library/nginx`). */
  repository: string
  /** Tag; `latest` when neither tag nor digest was given; empty when only a digest was. */
  tag: string
  /** `sha256:<hex>` when pinned by digest, else empty. */
  digest: string
}

const DEFAULT_REGISTRY = 'docker.io'
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$/
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/

/** Parses an image reference (without any `@peer` part) into its normalized form. */
export function parseImageReference (text: string): ImageReference {
  const bad = (why: string): InvalidArgumentError => new InvalidArgumentError(`invalid image reference "${text}": ${why}`)
  if (text === '' || text.length > 4096) throw bad('empty or too long')
  let rest = text
  let digest = ''
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw bad('the digest must be sha256: and 64 lowercase hex digits')
  }
  let tag = ''
  const lastSlash = rest.lastIndexOf('/')
  const colon = rest.lastIndexOf(':')
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw bad(`the tag "${tag}" may hold letters, digits, "_", "." and "-" (at most 128)`)
  }
  const parts = rest.split('/')
  let registry = DEFAULT_REGISTRY
  // The first component is a registry host when it looks like one: a dot, a port, or localhost.
  if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost' || parts[0].startsWith('['))) {
    registry = parts.shift() as string
    if (!HOST.test(registry)) throw bad(`"${registry}" is not a registry host`)
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift('library')
  for (const p of parts) {
    if (!COMPONENT.test(p)) throw bad(`"${p}" must be lowercase letters and digits, separated by ".", "_", "__" or "-"`)
  }
  const repository = parts.join('/')
  if (repository.length > 255) throw bad('the repository name is longer than 255 characters')
  if (tag === '' && digest === '') tag = 'latest'
  return { registry, repository, tag, digest }
}

/** The full form: `docker.io/library/nginx:latest`, `127.0.0.1:5000/app@sha256:…`. */
export function formatImageReference (ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === '' ? '' : `:${ref.tag}`}${ref.digest === '' ? '' : `@${ref.digest}`}`
}

/** The short form people type: `nginx:latest`, `user/app:1`, `127.0.0.1:5000/app:1`. */
export function familiarImageName (ref: ImageReference): string {
  const repo = ref.registry === DEFAULT_REGISTRY ? ref.repository.replace(/^library\//, '') : `${ref.registry}/${ref.repository}`
  return `${repo}${ref.tag === '' ? '' : `:${ref.tag}`}${ref.digest === '' ? '' : `@${ref.digest}`}`
}

/** True for registries Docker talks plain HTTP to by default: loopback ones. */
export function isLoopbackRegistry (registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
