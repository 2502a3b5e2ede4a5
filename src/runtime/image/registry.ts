// A client for the OCI distribution API (registry v2): mirrors, plain HTTP where allowed, Basic and
// bearer-token auth, and manifest lookups by tag or digest. Manifests and token answers are capped
// while they stream; every transfer is bounded in time (bounded-get.ts).
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { FailedPreconditionError, NotFoundError } from '../../errors.ts'
import { DEFAULT_PULL_LIMITS, Transfer, type PullLimits } from './bounded-get.ts'
import { isLoopbackRegistry, type ImageReference } from './reference.ts'

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
} as const
const ACCEPT = Object.values(MEDIA).join(', ')
/** Where docker.io's registry API answers. */
const DOCKER_HUB = 'registry-1.docker.io'

/** The largest manifest, index, image config or token answer taken, as containerd takes. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** Per-registry settings: mirrors tried first, hosts spoken to over plain HTTP, credentials, time limits. */
export interface RegistryHosts {
  mirrors: Record<string, string[]>
  insecure: string[]
  auth: Record<string, { username: string, password: string }>
  limits?: PullLimits
}

export interface Fetched {
  /** Where it came from, for messages. */
  endpoint: string
  mediaType: string
  digest: string
  bytes: Buffer
}

export class Registry {
  private readonly tokens = new Map<string, string>()
  private readonly limits: PullLimits

  constructor (private readonly hosts: RegistryHosts, private readonly signal?: AbortSignal) {
    this.limits = hosts.limits ?? DEFAULT_PULL_LIMITS
  }

  /** Base URLs to try for a registry: its mirrors, then the registry itself. */
  endpoints (registry: string): string[] {
    const own = registry === 'docker.io' ? DOCKER_HUB : registry
    const scheme = this.hosts.insecure.includes(registry) || isLoopbackRegistry(registry) ? 'http' : 'https'
    return [...(this.hosts.mirrors[registry] ?? []), `${scheme}://${own}`].map(u => u.replace(/\/+$/, ''))
  }

  /**
   * A manifest or index by tag or digest (`size` when a descriptor gave it), verified against the
   * digest when pinned; refused past 4 MB without reading on.
   */
  async manifest (endpoint: string, ref: ImageReference, reference = ref.digest !== '' ? ref.digest : ref.tag, size = -1): Promise<Fetched> {
    const what = `the manifest ${ref.repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference} from ${endpoint}`
    const transfer = new Transfer(what, size >= 0 ? size : MAX_MANIFEST_BYTES, this.limits, this.signal)
    const res = await this.open(endpoint, ref, `/v2/${ref.repository}/manifests/${reference}`, ACCEPT, transfer)
    const bytes = await transfer.read(res, MAX_MANIFEST_BYTES, `the connection to ${endpoint} broke while fetching ${what}`)
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new FailedPreconditionError(`manifest ${reference} from ${endpoint} does not match its digest (got ${digest})`)
    }
    if (size >= 0 && bytes.length !== size) throw new FailedPreconditionError(`manifest ${reference} from ${endpoint} is ${bytes.length} bytes, not the ${size} its index says`)
    const mediaType = (res.headers['content-type'] ?? '').split(';')[0].trim()
    return { endpoint, mediaType, digest, bytes }
  }

  /** A blob's body as it streams (redirects followed), ended by its deadline or the caller's signal. */
  async blob (endpoint: string, ref: ImageReference, digest: string, size: number): Promise<AsyncIterable<Uint8Array>> {
    const transfer = new Transfer(`blob ${digest} from ${endpoint}`, size, this.limits, this.signal)
    const res = await this.open(endpoint, ref, `/v2/${ref.repository}/blobs/${digest}`, '', transfer)
    return transfer.body(res, `the connection to ${new URL(endpoint).origin} broke while fetching blob ${digest}`)
  }

  /** GETs `path`, following redirects and answering one auth challenge; anything but a 200 is said as what it means. */
  private async open (endpoint: string, ref: ImageReference, path: string, accept: string, transfer: Transfer): Promise<IncomingMessage> {
    const scope = `repository:${ref.repository}:pull`
    const key = `${endpoint} ${scope}`
    let url = new URL(endpoint + path)
    let authorization = this.tokens.get(key)
    let challenged = false
    try {
      for (let hop = 0; hop < 8; hop++) {
        const res = await transfer.get(url, { ...(accept === '' ? {} : { accept }), ...(authorization === undefined ? {} : { authorization }) })
        const status = res.statusCode ?? 0
        if (status === 200) return res
        // Error bodies are not read: a registry could make them endless.
        res.destroy()
        if (status >= 300 && status < 400 && res.headers.location !== undefined) {
          const next = URL.parse(res.headers.location, url.href)
          if (next === null) throw new FailedPreconditionError(`${endpoint} redirected to an invalid location`)
          // Credentials are for the registry, not for the storage it redirects to.
          if (next.origin !== url.origin) authorization = undefined
          url = next
          continue
        }
        if (status === 401 && !challenged) {
          challenged = true
          authorization = await this.authorize(endpoint, String(res.headers['www-authenticate'] ?? ''), scope)
          this.tokens.set(key, authorization)
          continue
        }
        const manifest = path.includes('/manifests/')
        if (status === 404) throw new NotFoundError(`${ref.repository}${manifest ? `:${path.split('/').pop()}` : ''} not found at ${endpoint}`)
        if (status === 401 || status === 403) throw new FailedPreconditionError(`${endpoint} refused access to ${ref.repository} (HTTP ${status}); check the credentials (aurae login)`)
        throw new FailedPreconditionError(`${endpoint} answered HTTP ${status} for ${manifest ? path : `blob ${path.split('/').pop()}`}`)
      }
      throw new FailedPreconditionError(`too many redirects fetching ${path}`)
    } catch (err) {
      transfer.done()
      throw err
    }
  }

  /**
   * Checks the stored credentials for `registry` against the registry itself (not a mirror), as
   * `docker login` does: `/v2/` with Basic auth, or a token from the realm its challenge names.
   */
  async verifyLogin (registry: string): Promise<void> {
    const endpoint = this.endpoints(registry).at(-1) as string
    const url = new URL(`${endpoint}/v2/`)
    const transfer = new Transfer(`the answer to a login at ${endpoint}`, 0, this.limits, this.signal)
    try {
      const res = await transfer.get(url, {})
      res.destroy()
      if (res.statusCode === 200) return
      if (res.statusCode !== 401) throw new FailedPreconditionError(`${endpoint} is not a registry: /v2/ answered HTTP ${res.statusCode ?? 0}`)
      const authorization = await this.authorize(endpoint, String(res.headers['www-authenticate'] ?? ''), '')
      const again = await transfer.get(url, { authorization })
      again.destroy()
      if (again.statusCode === 401 || again.statusCode === 403) {
        throw new FailedPreconditionError(`${url.host} refused the credentials of ${this.credentials(url.host)?.username ?? ''}`)
      }
      if (again.statusCode !== 200) throw new FailedPreconditionError(`${endpoint} answered HTTP ${again.statusCode ?? 0} to a login`)
    } finally {
      transfer.done()
    }
  }

  /** The credentials stored for a registry host; Docker Hub's are stored under docker.io, as `aurae login docker.io` names it. */
  private credentials (host: string): { username: string, password: string } | undefined {
    return this.hosts.auth[host] ?? (host === DOCKER_HUB ? this.hosts.auth['docker.io'] : undefined)
  }

  /** Answers a 401 challenge: Basic with stored credentials, or a bearer token from the realm. */
  private async authorize (endpoint: string, challenge: string, scope: string): Promise<string> {
    const host = new URL(endpoint).host
    const creds = this.credentials(host)
    const basic = creds === undefined ? undefined : `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
    const [scheme] = challenge.split(' ')
    if (scheme.toLowerCase() === 'basic') {
      if (basic === undefined) throw new FailedPreconditionError(`${host} needs credentials; run: aurae login ${host}`)
      return basic
    }
    if (scheme.toLowerCase() !== 'bearer') throw new FailedPreconditionError(`${host} asked for unsupported auth "${scheme}"`)
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]))
    if (params.realm === undefined) throw new FailedPreconditionError(`${host} sent a bearer challenge without a realm`)
    const url = URL.parse(params.realm)
    if (url === null) throw new FailedPreconditionError(`${host} sent a bearer challenge with an invalid realm`)
    if (params.service !== undefined) url.searchParams.set('service', params.service)
    // A login asks for no scope: a token for the registry at all says the credentials hold.
    if ((params.scope ?? scope) !== '') url.searchParams.set('scope', params.scope ?? scope)
    const transfer = new Transfer(`the token answer from ${url.host}`, MAX_MANIFEST_BYTES, this.limits, this.signal)
    const res = await transfer.get(url, basic === undefined ? {} : { authorization: basic })
    const status = res.statusCode ?? 0
    if (status !== 200) {
      res.destroy()
      transfer.done()
      // A 401 from the realm is about the user's credentials for the registry, not about the token server's own host.
      if (status === 401) {
        throw new FailedPreconditionError(creds === undefined
          ? `${host} needs credentials; run: aurae login ${host}`
          : `${host} refused the credentials of ${creds.username}${scope === '' ? '' : `; run: aurae login ${host}`}`)
      }
      throw new FailedPreconditionError(`${url.host} refused a token for ${scope} (HTTP ${status})`)
    }
    const text = (await transfer.read(res, MAX_MANIFEST_BYTES, `the connection to ${url.host} broke while fetching a token`)).toString()
    let body: { token?: unknown, access_token?: unknown }
    try {
      body = JSON.parse(text)
    } catch {
      throw new FailedPreconditionError(`${url.host} sent a token answer that is not JSON`)
    }
    const token = body?.token ?? body?.access_token
    // A token goes into a header: printable ASCII only.
    if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) throw new FailedPreconditionError(`${url.host} sent no usable token`)
    return `Bearer ${token}`
  }
}
