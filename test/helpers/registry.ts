// A real docker-registry on 127.0.0.1 for tests (plain, Basic auth, or token auth), and pushes to it
// from OCI image layouts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID, sign, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Layout, sha256, type Descriptor, type ImageOptions, type LayoutImage } from './oci-layout.ts'
import { until } from './node.ts'

export { APP_UID, binaryEntries, busyboxLayer, layerTar, Layout, nginxLayer, sha256, userShellLayer } from './oci-layout.ts'

/** A TCP port nothing on 127.0.0.1 listens on now. */
export async function freePort (): Promise<number> {
  return await new Promise(resolve => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface TestRegistry {
  host: string
  dir: string
  /** Where the registry keeps a blob, for tests that corrupt one. */
  blobPath: (digest: string) => string
  stop: () => void
}

/** Starts docker-registry on a free loopback port; with `user`, it demands Basic auth. */
export async function startRegistry (user?: { name: string, password: string }): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-registry-'))
  return await serveRegistry(dir, user === undefined ? '' : basicAuth(dir, user))
}

/** The registry config's auth section for Basic auth as `user`, its htpasswd file written into `dir`. */
function basicAuth (dir: string, user: { name: string, password: string }): string {
  const htpasswd = spawnSync('htpasswd', ['-Bbn', user.name, user.password], { encoding: 'utf8' })
  if (htpasswd.status !== 0) throw new Error(`htpasswd failed: ${htpasswd.stderr}`)
  writeFileSync(join(dir, 'htpasswd'), htpasswd.stdout)
  return `auth: { htpasswd: { realm: test, path: ${join(dir, 'htpasswd')} } }\n`
}

/**
 * An empty docker-registry demanding Basic auth as `user`, on 127.0.0.1:`port` inside network namespace `netns`
 * (a port of the namespace's own, such as 5000, as a user's local registry has); stop removes it.
 */
export async function startRegistryInside (netns: string, port: number, user: { name: string, password: string }): Promise<{ host: string, stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-registry-'))
  const child = spawn('nsenter', [`--net=/run/netns/${netns}`, 'docker-registry', 'serve', writeConfig(dir, 'config.yml', port, basicAuth(dir, user))], { stdio: 'ignore' })
  const stop = (): void => {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await until('the registry in the namespace to answer', () => spawnSync('nsenter', [`--net=/run/netns/${netns}`, 'nc', '-z', '127.0.0.1', String(port)]).status === 0)
  } catch (err) {
    stop()
    throw err
  }
  return { host: `127.0.0.1:${port}`, stop }
}

/** A docker-registry config serving the storage under `dir` on 127.0.0.1:`port`. */
function writeConfig (dir: string, name: string, port: number, auth = ''): string {
  writeFileSync(join(dir, name), `version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }
http: { addr: 127.0.0.1:${port} }
${auth}`)
  return join(dir, name)
}

/** Writes the config into `dir` and runs docker-registry until stop, which also removes `dir`. */
async function serveRegistry (dir: string, auth: string, onStop = (): void => {}): Promise<TestRegistry> {
  const port = await freePort()
  const child: ChildProcess = spawn('docker-registry', ['serve', writeConfig(dir, 'config.yml', port, auth)], { stdio: 'ignore' })
  const host = `127.0.0.1:${port}`
  const stop = (): void => {
    child.kill('SIGKILL')
    onStop()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await until('the registry to answer', async () => await fetch(`http://${host}/v2/`).then(r => r.status === 200 || r.status === 401, () => false))
  } catch (err) {
    stop()
    throw err
  }
  return {
    host,
    dir,
    blobPath: digest => join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data'),
    stop
  }
}

/**
 * The same images served from inside network namespace `netns`, on its own loopback, as a test host's
 * local registry: a second docker-registry over `registry`'s storage. Stop it before `registry`.
 */
export async function serveInside (registry: TestRegistry, netns: string): Promise<{ host: string, stop: () => void }> {
  const port = await freePort()
  const child = spawn('ip', ['netns', 'exec', netns, 'docker-registry', 'serve', writeConfig(registry.dir, `config-${netns}.yml`, port)], { stdio: 'ignore' })
  const stop = (): void => { child.kill('SIGKILL') }
  try {
    await until('the registry in the namespace to answer', () => spawnSync('ip', ['netns', 'exec', netns, 'nc', '-z', '127.0.0.1', String(port)]).status === 0)
  } catch (err) {
    stop()
    throw err
  }
  return { host: `127.0.0.1:${port}`, stop }
}

/** One request the token server answered: what was asked, by whom, and what it granted. */
export interface TokenRequest {
  service: string | null
  scope: string | null
  user?: string
  status: number
  granted?: Array<{ type: string, name: string, actions: string[] }>
}

export interface TokenRegistry extends TestRegistry {
  /** The `service` the registry names in its challenges (and the audience of its tokens). */
  service: string
  /** The token server's URL (the challenge's realm). */
  realm: string
  /** Every token request, in order, so tests can check what the client asked for. */
  tokenRequests: TokenRequest[]
}

/**
 * docker-registry with token auth, as Docker Hub and most hosted registries do it, plus the token
 * server it trusts: `user` gets pull and push, anyone else is refused. Tokens are ES256 JWTs carrying
 * their certificate in `x5c`, which the registry verifies against the rootcertbundle it was given.
 */
export async function startTokenRegistry (user: { name: string, password: string }): Promise<TokenRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-registry-'))
  const service = 'aurae-test-registry'
  const issuer = 'aurae-test-token-server'
  const keyPath = join(dir, 'key.pem')
  const certPath = join(dir, 'cert.pem')
  const openssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc', '-days', '1',
    '-subj', `/CN=${issuer}`, '-keyout', keyPath, '-out', certPath], { encoding: 'utf8' })
  if (openssl.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`openssl req failed (is openssl installed?): ${openssl.stderr ?? openssl.error?.message}`)
  }
  const key = readFileSync(keyPath)
  const x5c = [new X509Certificate(readFileSync(certPath)).raw.toString('base64')]
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  const tokenRequests: TokenRequest[] = []
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token')
    const [scheme, encoded] = (req.headers.authorization ?? '').split(' ')
    const [name, password] = scheme === 'Basic' ? Buffer.from(encoded ?? '', 'base64').toString().split(/:(.*)/s) : []
    const seen: TokenRequest = { service: url.searchParams.get('service'), scope: url.searchParams.get('scope'), user: name, status: 200 }
    tokenRequests.push(seen)
    const answer = (status: number, body: object, headers: Record<string, string> = {}): void => {
      seen.status = status
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    }
    if (url.pathname !== '/token') return answer(404, { details: 'not found' })
    if (seen.service !== service) return answer(400, { details: `unknown service ${seen.service}` })
    if (name !== user.name || password !== user.password) return answer(401, { details: 'credentials required' }, { 'www-authenticate': 'Basic realm="token"' })
    // Grant what was asked for, no more than this user may have: pull and push on any repository.
    seen.granted = url.searchParams.getAll('scope').flatMap(s => {
      const m = /^(repository):(.+):([^:]*)$/.exec(s)
      return m === null ? [] : [{ type: m[1], name: m[2], actions: m[3].split(',').filter(a => a === 'pull' || a === 'push') }]
    })
    const now = Math.floor(Date.now() / 1000)
    const claims = { iss: issuer, sub: name, aud: service, exp: now + 300, nbf: now, iat: now, jti: randomUUID(), access: seen.granted }
    const signed = `${b64({ typ: 'JWT', alg: 'ES256', x5c })}.${b64(claims)}`
    const token = `${signed}.${sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
    answer(200, { token, access_token: token, expires_in: 300, issued_at: new Date(now * 1000).toISOString() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const realm = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`
  const closeServer = (): void => {
    server.close()
    server.closeAllConnections()
  }
  const registry = await serveRegistry(dir, `auth: { token: { realm: "${realm}", service: ${service}, issuer: ${issuer}, rootcertbundle: ${certPath} } }\n`, closeServer)
    .catch(err => { closeServer(); throw err })
  return { ...registry, service, realm, tokenRequests }
}

export type PushedImage = LayoutImage

async function pushBlob (host: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes)
  const start = await send(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' })
  if (start.status !== 202) throw new Error(`upload start: HTTP ${start.status}`)
  const location = new URL(start.headers.get('location') ?? '', `http://${host}`)
  location.searchParams.set('digest', digest)
  const put = await send(location, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } })
  if (put.status !== 201) throw new Error(`upload: HTTP ${put.status}`)
  return digest
}

let AUTH: Record<string, string> = {}
/** The last bearer token per registry origin, so a push does not fetch one per request. */
const BEARER = new Map<string, string>()
/** Credentials for pushes to a registry that demands them (Basic, or traded for a bearer token). */
export function pushAs (user?: { name: string, password: string }): void {
  AUTH = user === undefined ? {} : { authorization: `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}` }
  BEARER.clear()
}

/** fetch with the push credentials; a bearer challenge is answered by trading them at its realm for a token, as docker push does. */
async function send (url: string | URL, init: { method: string, body?: Buffer, headers?: Record<string, string> }): Promise<Response> {
  const origin = new URL(url).origin
  const attempt = async (bearer?: string): Promise<Response> =>
    await fetch(url, { ...init, headers: { ...init.headers, ...(bearer === undefined ? AUTH : { authorization: bearer }) } })
  const res = await attempt(BEARER.get(origin))
  const challenge = res.headers.get('www-authenticate') ?? ''
  if (res.status !== 401 || !challenge.startsWith('Bearer ')) return res
  await res.body?.cancel()
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]))
  const realm = new URL(params.realm)
  realm.searchParams.set('service', params.service)
  realm.searchParams.set('scope', params.scope)
  const got = await fetch(realm, { headers: AUTH })
  if (!got.ok) throw new Error(`token for ${params.scope}: HTTP ${got.status}`)
  BEARER.set(origin, `Bearer ${(await got.json() as { token: string }).token}`)
  return await attempt(BEARER.get(origin))
}

async function putManifest (host: string, repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<void> {
  const res = await send(`http://${host}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } })
  if (res.status !== 201) throw new Error(`manifest push: HTTP ${res.status} ${await res.text()}`)
}

/** Pushes what `tag` names in the layout (an image, or an index and its images) as `repo:tag`, as `skopeo copy oci:… docker://…` does. */
export async function pushLayout (host: string, repo: string, layout: Layout, tag: string): Promise<string> {
  const push = async (d: Descriptor, ref: string): Promise<void> => {
    const body = JSON.parse(layout.blob(d.digest).toString()) as { manifests?: Descriptor[], config?: Descriptor, layers?: Descriptor[] }
    if (body.manifests !== undefined) for (const m of body.manifests) await push(m, m.digest)
    else for (const b of [body.config as Descriptor, ...body.layers ?? []]) await pushBlob(host, repo, layout.blob(b.digest))
    await putManifest(host, repo, ref, layout.blob(d.digest), d.mediaType)
  }
  const top = layout.tagged(tag)
  await push(top, tag)
  return top.digest
}

/** Builds a one-platform image (layers as uncompressed tars) in an OCI layout and pushes it as `repo:tag`. */
export async function pushImage (host: string, repo: string, tag: string, layers: Buffer[], opts: ImageOptions = {}): Promise<PushedImage> {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-layout-'))
  try {
    const layout = new Layout(dir)
    const image = layout.writeImage(tag, layers, opts)
    await pushLayout(host, repo, layout, tag)
    return image
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
