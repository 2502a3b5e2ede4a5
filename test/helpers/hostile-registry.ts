// A registry written by hand, for tests that need one to misbehave: it serves images from memory as
// the distribution API does, and a test can take over any path (drip, stream for ever, lie).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { sha256 } from './oci-layout.ts'

export type Handler = (req: IncomingMessage, res: ServerResponse) => void

export interface Connection {
  /** Bytes the server has written to it so far. */
  written: () => number
  closed: boolean
}

export interface HostileRegistry {
  host: string
  /** Serves `body` at `path` (`/v2/<repo>/manifests/<ref>` or `/v2/<repo>/blobs/<digest>`). */
  put: (path: string, body: Buffer, contentType?: string) => void
  /** Lets `handler` answer `path` from now on. */
  on: (path: string, handler: Handler) => void
  /** The paths asked for, in order. */
  requests: string[]
  connections: Connection[]
  stop: () => Promise<void>
}

export async function startHostileRegistry (): Promise<HostileRegistry> {
  const fixed = new Map<string, { body: Buffer, contentType: string }>()
  const handlers = new Map<string, Handler>()
  const requests: string[] = []
  const connections: Connection[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://registry').pathname
    requests.push(path)
    const handler = handlers.get(path)
    if (handler !== undefined) return handler(req, res)
    const found = fixed.get(path)
    if (path === '/v2/') return res.writeHead(200).end('{}')
    if (found === undefined) return res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND"}]}')
    res.writeHead(200, { 'content-type': found.contentType, 'content-length': found.body.length }).end(found.body)
  })
  server.on('connection', socket => {
    const c: Connection = { written: () => socket.bytesWritten, closed: false }
    connections.push(c)
    sockets.add(socket)
    socket.on('close', () => { c.closed = true; sockets.delete(socket) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    put: (path, body, contentType = 'application/octet-stream') => { fixed.set(path, { body, contentType }) },
    on: (path, handler) => { handlers.set(path, handler) },
    requests,
    connections,
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

/** An OCI image in memory: gzip layers from tars, a config naming their diff_ids, and its manifest as an object to tamper with. */
export interface MemoryImage {
  manifest: { schemaVersion: unknown, mediaType?: unknown, config: any, layers: any[] }
  config: { rootfs: { type: string, diff_ids: unknown[] }, [k: string]: unknown }
  blobs: Map<string, Buffer>
}

export function memoryImage (tars: Buffer[]): MemoryImage {
  const blobs = new Map<string, Buffer>()
  const layers = tars.map(tar => {
    const gz = gzipSync(tar, { level: 1 })
    blobs.set(sha256(gz), gz)
    return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz), size: gz.length }
  })
  const config = { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: tars.map(sha256) as unknown[] } }
  return { manifest: { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: undefined, layers }, config, blobs }
}

/** Serves `image` as `repo:tag` (its config as it stands now); returns the manifest's digest. */
export function serveImage (registry: HostileRegistry, repo: string, tag: string, image: MemoryImage): string {
  const config = Buffer.from(JSON.stringify(image.config))
  image.manifest.config ??= { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }
  const manifest = Buffer.from(JSON.stringify(image.manifest))
  for (const [digest, body] of [...image.blobs, [sha256(config), config] as const]) registry.put(`/v2/${repo}/blobs/${digest}`, body)
  registry.put(`/v2/${repo}/manifests/${tag}`, manifest, 'application/vnd.oci.image.manifest.v1+json')
  registry.put(`/v2/${repo}/manifests/${sha256(manifest)}`, manifest, 'application/vnd.oci.image.manifest.v1+json')
  return sha256(manifest)
}
