// A real docker-registry on 127.0.0.1 for tests, and OCI images built from Debian's busybox-static.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { pack } from 'tar-stream'
import { until } from './node.ts'

export const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

async function freePort (): Promise<number> {
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
  const port = await freePort()
  let auth = ''
  if (user !== undefined) {
    const htpasswd = spawnSync('htpasswd', ['-Bbn', user.name, user.password], { encoding: 'utf8' })
    if (htpasswd.status !== 0) throw new Error(`htpasswd failed: ${htpasswd.stderr}`)
    writeFileSync(join(dir, 'htpasswd'), htpasswd.stdout)
    auth = `auth: { htpasswd: { realm: test, path: ${join(dir, 'htpasswd')} } }\n`
  }
  writeFileSync(join(dir, 'config.yml'), `version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }
http: { addr: 127.0.0.1:${port} }
${auth}`)
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' })
  const host = `127.0.0.1:${port}`
  await until('the registry to answer', async () => await fetch(`http://${host}/v2/`).then(r => r.status === 200 || r.status === 401, () => false))
  return {
    host,
    dir,
    blobPath: digest => join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data'),
    stop: () => {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A gzipped layer tar from entries (files with content, or symlinks). */
export async function layerTar (entries: Array<{ name: string, body?: Buffer | string, linkname?: string, mode?: number }>): Promise<Buffer> {
  const p = pack()
  // Read while writing: a large entry would otherwise wait forever on a full buffer.
  const chunks: Buffer[] = []
  p.on('data', (c: Buffer) => chunks.push(c))
  const ended = new Promise(resolve => p.on('end', resolve))
  for (const e of entries) {
    const header = e.linkname !== undefined
      ? { name: e.name, type: 'symlink' as const, linkname: e.linkname }
      : e.body === undefined ? { name: e.name, type: 'directory' as const, mode: e.mode ?? 0o755 } : { name: e.name, mode: e.mode ?? 0o644 }
    await new Promise<void>((resolve, reject) => p.entry(header, e.body ?? '', err => err == null ? resolve() : reject(err)))
  }
  p.finalize()
  await ended
  return gzipSync(Buffer.concat(chunks))
}

/** busybox-static as a one-layer image, with the applets a test uses linked in /bin. */
export async function busyboxLayer (extra: Array<{ name: string, body: string }> = []): Promise<Buffer> {
  const applets = ['sh', 'echo', 'cat', 'ls', 'sleep', 'true', 'false', 'hostname', 'env', 'id', 'httpd', 'wc']
  return await layerTar([
    { name: 'bin/' },
    { name: 'bin/busybox', body: readFileSync('/bin/busybox'), mode: 0o755 },
    ...applets.map(a => ({ name: `bin/${a}`, linkname: 'busybox' })),
    { name: 'etc/' },
    ...extra
  ])
}

/**
 * nginx from Debian's nginx-light as a one-layer image: the binary, the libraries ldd names, the
 * loader, its mime types, a small config (foreground, logs to stdout/stderr) and a page.
 */
export async function nginxLayer (page: string): Promise<Buffer> {
  const ldd = spawnSync('ldd', ['/usr/sbin/nginx'], { encoding: 'utf8' })
  if (ldd.status !== 0) throw new Error('nginx-light is not installed (apt-get install nginx-light)')
  const libs = [...ldd.stdout.matchAll(/(\/[^\s]+\.so[^\s]*)/g)].map(m => m[1])
  const files = [...new Set(libs)].map(path => ({ name: path.slice(1), body: readFileSync(path), mode: 0o755 }))
  const conf = `user www-data;
worker_processes 1;
daemon off;
pid /run/nginx.pid;
error_log /dev/stderr;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  access_log /dev/stdout;
  client_body_temp_path /var/lib/nginx/body;
  server { listen 80; root /usr/share/nginx/html; }
}
`
  return await layerTar([
    { name: 'usr/' }, { name: 'usr/sbin/' }, { name: 'lib/' }, { name: 'lib/x86_64-linux-gnu/' }, { name: 'lib64/' }, { name: 'run/' }, { name: 'tmp/', mode: 0o1777 },
    { name: 'var/' }, { name: 'var/lib/' }, { name: 'var/lib/nginx/' }, { name: 'var/log/' }, { name: 'var/log/nginx/' },
    { name: 'usr/sbin/nginx', body: readFileSync('/usr/sbin/nginx'), mode: 0o755 },
    ...files,
    { name: 'etc/' }, { name: 'etc/nginx/' },
    { name: 'etc/nginx/nginx.conf', body: conf },
    { name: 'etc/nginx/mime.types', body: readFileSync('/etc/nginx/mime.types') },
    { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n' },
    { name: 'etc/group', body: 'root:x:0:\nwww-data:x:33:\n' },
    { name: 'usr/share/' }, { name: 'usr/share/nginx/' }, { name: 'usr/share/nginx/html/' },
    { name: 'usr/share/nginx/html/index.html', body: page }
  ])
}

export interface PushedImage {
  manifest: string
  config: string
  layers: string[]
}

async function pushBlob (host: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes)
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: AUTH })
  if (start.status !== 202) throw new Error(`upload start: HTTP ${start.status}`)
  const location = new URL(start.headers.get('location') ?? '', `http://${host}`)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, { method: 'PUT', body: bytes, headers: { ...AUTH, 'content-type': 'application/octet-stream' } })
  if (put.status !== 201) throw new Error(`upload: HTTP ${put.status}`)
  return digest
}

let AUTH: Record<string, string> = {}
/** Credentials for pushes to a registry that demands them. */
export function pushAs (user?: { name: string, password: string }): void {
  AUTH = user === undefined ? {} : { authorization: `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}` }
}

export async function pushManifest (host: string, repo: string, ref: string, body: object, mediaType: string): Promise<string> {
  const bytes = Buffer.from(JSON.stringify({ ...body, mediaType }))
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: bytes, headers: { ...AUTH, 'content-type': mediaType } })
  if (res.status !== 201) throw new Error(`manifest push: HTTP ${res.status} ${await res.text()}`)
  return sha256(bytes)
}

/** Pushes an OCI image (layers + config) and tags it. */
export async function pushImage (host: string, repo: string, tag: string, layers: Buffer[], config: object = {}, architecture = 'amd64'): Promise<PushedImage> {
  const layerDigests = []
  for (const l of layers) layerDigests.push(await pushBlob(host, repo, l))
  const configBytes = Buffer.from(JSON.stringify({
    architecture,
    os: 'linux',
    created: '2026-11-01T00:00:00Z',
    config: { Cmd: ['sh'], Env: ['PATH=/bin'], ...config },
    rootfs: { type: 'layers', diff_ids: layers.map(l => sha256(gunzipSync(l))) }
  }))
  const configDigest = await pushBlob(host, repo, configBytes)
  const manifest = await pushManifest(host, repo, tag, {
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
    layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigests[i], size: l.length }))
  }, 'application/vnd.oci.image.manifest.v1+json')
  return { manifest, config: configDigest, layers: layerDigests }
}
