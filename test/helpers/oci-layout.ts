// Test images as OCI image layouts on disk (oci-layout, index.json, blobs/sha256/…), built from
// Debian's packages, in the OCI or the Docker media types, with gzip, zstd or uncompressed layers.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync, zstdCompressSync } from 'node:zlib'
import { pack } from 'tar-stream'

export const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

export type Compression = 'gzip' | 'zstd' | 'none'

export interface ImageOptions {
  /** Merged into the image config's `config` (Cmd, Env, WorkingDir, User, Entrypoint …). */
  config?: object
  architecture?: string
  /** The media types: OCI's (the default) or Docker's schema 2. */
  format?: 'oci' | 'docker'
  compression?: Compression
}

/** What an image in a layout is made of, by digest. */
export interface LayoutImage {
  manifest: string
  config: string
  layers: string[]
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os: string, architecture: string }
  annotations?: Record<string, string>
}

const MEDIA = {
  oci: {
    index: 'application/vnd.oci.image.index.v1+json',
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' }
  },
  docker: {
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: { gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip', zstd: undefined, none: 'application/vnd.docker.image.rootfs.diff.tar' }
  }
} as const
const REF_NAME = 'org.opencontainers.image.ref.name'

/** An uncompressed layer tar from entries: files with content, directories (no body), or symlinks. */
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
  return Buffer.concat(chunks)
}

/** busybox from Debian's busybox-static as one layer, with the applets the tests use linked in /bin. */
export async function busyboxLayer (extra: Array<{ name: string, body: string }> = []): Promise<Buffer> {
  const applets = ['sh', 'echo', 'cat', 'ls', 'sleep', 'true', 'false', 'hostname', 'env', 'id', 'httpd', 'wc', 'uname', 'tar']
  return await layerTar([
    { name: 'bin/' },
    { name: 'bin/busybox', body: readFileSync('/bin/busybox'), mode: 0o755 },
    ...applets.map(a => ({ name: `bin/${a}`, linkname: 'busybox' })),
    { name: 'etc/' },
    ...extra
  ])
}

/** The uid and gid of `app`, the user userShellLayer's images run as. */
export const APP_UID = 999

/** busybox with `applets` for a user of its own, `app` (home `home`), and `dirs` beside (each `name/` and mode). */
export async function userShellLayer (applets: string[], home: string, dirs: Array<{ name: string, mode: number }>): Promise<Buffer> {
  return await layerTar([
    { name: 'bin/' },
    { name: 'bin/busybox', body: readFileSync('/bin/busybox'), mode: 0o755 },
    ...applets.map(a => ({ name: `bin/${a}`, linkname: 'busybox' })),
    { name: 'etc/' },
    { name: 'etc/passwd', body: `root:x:0:0:root:/root:/bin/sh\napp:x:${APP_UID}:${APP_UID}::${home}:/bin/sh\n` },
    { name: 'etc/group', body: `root:x:0:\napp:x:${APP_UID}:\n` },
    ...dirs
  ])
}

/**
 * nginx from Debian's nginx-light as one layer: the binary, the libraries ldd names, the loader,
 * its mime types, a small config (foreground, logs to stdout/stderr) and a page.
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

/** An OCI image layout at `dir`: its tags, and its blobs by digest. */
export class Layout {
  readonly dir: string

  constructor (dir: string) {
    this.dir = dir
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
    if (!existsSync(join(dir, 'oci-layout'))) {
      writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
      writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.oci.index, manifests: [] }))
    }
  }

  blob (digest: string): Buffer {
    return readFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)))
  }

  /** The descriptor tagged `tag` in index.json. */
  tagged (tag: string): Descriptor {
    const found = this.index().manifests.find(m => m.annotations?.[REF_NAME] === tag)
    if (found === undefined) throw new Error(`no tag ${tag} in the layout at ${this.dir}`)
    return found
  }

  /** Writes one platform's image (layers given as uncompressed tars) and tags it. */
  writeImage (tag: string, layers: Buffer[], opts: ImageOptions = {}): LayoutImage {
    const media = MEDIA[opts.format ?? 'oci']
    const compression = opts.compression ?? 'gzip'
    const layerType = media.layer[compression]
    if (layerType === undefined) throw new Error(`Docker's media types have no ${compression} layers`)
    const architecture = opts.architecture ?? 'amd64'
    const blobs = layers.map(tar => this.put(compress(tar, compression)))
    const config = this.put(Buffer.from(JSON.stringify({
      architecture,
      os: 'linux',
      created: '2026-11-01T00:00:00Z',
      config: { Cmd: ['sh'], Env: ['PATH=/bin'], ...opts.config },
      rootfs: { type: 'layers', diff_ids: layers.map(sha256) }
    })))
    const manifest = this.put(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: media.manifest,
      config: { mediaType: media.config, ...config },
      layers: blobs.map(b => ({ mediaType: layerType, ...b }))
    })))
    this.tag(tag, { mediaType: media.manifest, ...manifest, platform: { os: 'linux', architecture } })
    return { manifest: manifest.digest, config: config.digest, layers: blobs.map(b => b.digest) }
  }

  /** Writes an index (a manifest list, in Docker's terms) over images already tagged here, and tags it. */
  writeIndex (tag: string, of: string[], format: 'oci' | 'docker' = 'oci'): string {
    const index = this.put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA[format].index, manifests: of.map(t => this.tagged(t)).map(({ annotations: _, ...d }) => d) })))
    this.tag(tag, { mediaType: MEDIA[format].index, ...index })
    return index.digest
  }

  private index (): { schemaVersion: number, mediaType: string, manifests: Descriptor[] } {
    return JSON.parse(readFileSync(join(this.dir, 'index.json'), 'utf8'))
  }

  private tag (tag: string, d: Descriptor): void {
    const index = this.index()
    index.manifests = [...index.manifests.filter(m => m.annotations?.[REF_NAME] !== tag), { ...d, annotations: { [REF_NAME]: tag } }]
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify(index))
  }

  private put (bytes: Buffer): { digest: string, size: number } {
    const digest = sha256(bytes)
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes)
    return { digest, size: bytes.length }
  }
}

function compress (tar: Buffer, how: Compression): Buffer {
  if (how === 'gzip') return gzipSync(tar, { level: 1 })
  if (how === 'zstd') return zstdCompressSync(tar)
  return tar
}

/**
 * Debian binaries at their host paths with the libraries ldd names and the loader, each directory an entry of its
 * own: a glibc program (getent) where busybox has no equivalent.
 */
export function binaryEntries (paths: string[]): Array<{ name: string, body?: Buffer, mode?: number }> {
  const libs = paths.flatMap(p => {
    const ldd = spawnSync('ldd', [p], { encoding: 'utf8' })
    if (ldd.status !== 0) throw new Error(`ldd ${p}: ${ldd.stderr}`)
    return [...ldd.stdout.matchAll(/(\/[^\s]+\.so[^\s]*)/g)].map(m => m[1])
  })
  const files = [...new Set([...paths, ...libs])]
  const dirs = new Set(files.flatMap(f => f.split('/').slice(1, -1).map((_, i, parts) => `${parts.slice(0, i + 1).join('/')}/`)))
  return [...[...dirs].sort().map(name => ({ name })), ...files.map(f => ({ name: f.slice(1), body: readFileSync(f), mode: 0o755 }))]
}
