// A client for the OCI distribution API (registry v2): mirrors, plain HTTP where allowed, Basic and
// bearer-token auth, and manifest lookups by tag or digest.
import { createHash } from 'node:crypto'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'
import { FailedPreconditionError, NotFoundError } from '../../errors.ts'
import { isLoopbackRegistry, type ImageReference } from './reference.ts'

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json'
} as const
const ACCEPT = Object.values(MEDIA).join(', ')

/** Per-registry settings: mirrors tried first, hosts spoken to over plain HTTP, credentials. */
export interface RegistryHosts {
  mirrors: Record<string, string[]>
  insecure: string[]
  auth: Record<string, { username: string, password: string }>
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

  constructor (private readonly hosts: RegistryHosts) {}

  /** Base URLs to try for a registry: its mirrors, then the registry itself. */
  endpoints (registry: string): string[] {
    const own = registry === 'docker.io' ? 'registry-1.docker.io' : registry
    const scheme = this.hosts.insecure.includes(registry) || isLoopbackRegistry(registry) ? 'http' : 'https'
    return [...(this.hosts.mirrors[registry] ?? []), `${scheme}://${own}`].map(u => u.replace(/\/+$/, ''))
  }

  /** A manifest or index by tag or digest, verified against the digest when pinned. */
  async manifest (endpoint: string, ref: ImageReference, reference = ref.digest !== '' ? ref.digest : ref.tag): Promise<Fetched> {
    const res = await this.get(endpoint, ref, `/v2/${ref.repository}/manifests/${reference}`, ACCEPT)
    const bytes = Buffer.from(await res.arrayBuffer())
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new FailedPreconditionError(`manifest ${reference} from ${endpoint} does not match its digest (got ${digest})`)
    }
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0] || (JSON.parse(bytes.toString()).mediaType as string ?? '')
    return { endpoint, mediaType, digest, bytes }
  }

  /** A blob's body, streaming through node:http (faster than fetch for large bodies), redirects followed. */
  async blob (endpoint: string, ref: ImageReference, digest: string): Promise<AsyncIterable<Uint8Array>> {
    const scope = `repository:${ref.repository}:pull`
    let url = new URL(`${endpoint}/v2/${ref.repository}/blobs/${digest}`)
    let authorization = this.tokens.get(`${endpoint} ${scope}`)
    for (let hop = 0; hop < 6; hop++) {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const get = url.protocol === 'https:' ? httpsGet : httpGet
        const req = get(url, { headers: authorization === undefined ? {} : { authorization }, timeout: 60_000 }, resolve)
        req.on('error', err => reject(new FailedPreconditionError(`cannot reach ${url.origin}: ${err.message}`)))
        req.on('timeout', () => req.destroy(new Error('timed out')))
      })
      const status = res.statusCode ?? 0
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume()
        const next = new URL(res.headers.location, url)
        // Credentials are for the registry, not for the storage it redirects to.
        if (next.origin !== url.origin) authorization = undefined
        url = next
        continue
      }
      if (status === 401 && hop === 0) {
        res.resume()
        authorization = await this.authorize(endpoint, String(res.headers['www-authenticate'] ?? ''), scope)
        this.tokens.set(`${endpoint} ${scope}`, authorization)
        continue
      }
      if (status !== 200) {
        res.resume()
        throw new FailedPreconditionError(`${endpoint} answered HTTP ${status} for blob ${digest}`)
      }
      return broken(res, `the connection to ${url.origin} broke while fetching blob ${digest}`)
    }
    throw new FailedPreconditionError(`too many redirects fetching blob ${digest}`)
  }

  private async get (endpoint: string, ref: ImageReference, path: string, accept: string): Promise<Response> {
    const url = endpoint + path
    const scope = `repository:${ref.repository}:pull`
    const key = `${endpoint} ${scope}`
    const headers: Record<string, string> = { accept }
    const token = this.tokens.get(key)
    if (token !== undefined) headers.authorization = token
    let res = await this.fetch(url, headers)
    if (res.status === 401) {
      const auth = await this.authorize(endpoint, res.headers.get('www-authenticate') ?? '', scope)
      this.tokens.set(key, auth)
      res = await this.fetch(url, { ...headers, authorization: auth })
    }
    if (res.status === 404) throw new NotFoundError(`${ref.repository}${path.includes('/manifests/') ? `:${path.split('/').pop()}` : ''} not found at ${endpoint}`)
    if (res.status === 401 || res.status === 403) throw new FailedPreconditionError(`${endpoint} refused access to ${ref.repository} (HTTP ${res.status}); check the credentials (aurae login)`)
    if (!res.ok) throw new FailedPreconditionError(`${endpoint} answered HTTP ${res.status} for ${path}`)
    return res
  }

  private async fetch (url: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(60_000) })
    } catch (err) {
      throw new FailedPreconditionError(`cannot reach ${new URL(url).origin}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`)
    }
  }

  /** Answers a 401 challenge: Basic with stored credentials, or a bearer token from the realm. */
  private async authorize (endpoint: string, challenge: string, scope: string): Promise<string> {
    const host = new URL(endpoint).host
    const creds = this.hosts.auth[host]
    const basic = creds === undefined ? undefined : `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
    const [scheme] = challenge.split(' ')
    if (scheme.toLowerCase() === 'basic') {
      if (basic === undefined) throw new FailedPreconditionError(`${host} needs credentials; run: aurae login ${host}`)
      return basic
    }
    if (scheme.toLowerCase() !== 'bearer') throw new FailedPreconditionError(`${host} asked for unsupported auth "${scheme}"`)
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]))
    if (params.realm === undefined) throw new FailedPreconditionError(`${host} sent a bearer challenge without a realm`)
    const url = new URL(params.realm)
    if (params.service !== undefined) url.searchParams.set('service', params.service)
    url.searchParams.set('scope', params.scope ?? scope)
    const res = await this.fetch(url.toString(), basic === undefined ? {} : { authorization: basic })
    // A 401 from the realm is about the user's credentials for the registry, not about the token server's own host.
    if (res.status === 401) {
      throw new FailedPreconditionError(creds === undefined
        ? `${host} needs credentials; run: aurae login ${host}`
        : `${host} refused the credentials of ${creds.username}; run: aurae login ${host}`)
    }
    if (!res.ok) throw new FailedPreconditionError(`${url.host} refused a token for ${scope} (HTTP ${res.status})`)
    const body = await res.json() as { token?: string, access_token?: string }
    const token = body.token ?? body.access_token
    if (token === undefined) throw new FailedPreconditionError(`${url.host} sent no token`)
    return `Bearer ${token}`
  }
}

/** The body, with a failure part-way said as what it is rather than as the socket's "aborted". */
async function * broken (body: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<Uint8Array> {
  try {
    yield * body
  } catch (err) {
    throw new FailedPreconditionError(`${what} (${(err as Error).message})`)
  }
}
