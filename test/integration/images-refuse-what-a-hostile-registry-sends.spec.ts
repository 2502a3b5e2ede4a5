import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryImage, serveImage, startHostileRegistry, type HostileRegistry, type MemoryImage } from '../helpers/hostile-registry.ts'
import { layerTar, sha256 } from '../helpers/oci-layout.ts'
import { startNode, until, type TestNode } from '../helpers/node.ts'

describe('a hostile registry', () => {
  let registry: HostileRegistry
  let node: TestNode
  const images = async (): Promise<string[]> => JSON.parse((await node.cli(['images', '--json'])).stdout).map((i: any) => i.name)
  const stored = (digest: string): boolean => existsSync(join(node.data, 'content', 'sha256', digest.slice(7)))
  const ingest = (): string[] => readdirSync(join(node.data, 'content', 'ingest'))
  /** Pulls `repo` and returns its error (the last line, after any progress), checking that it failed and listed nothing. */
  const refused = async (repo: string): Promise<string> => {
    const res = await node.cli(['pull', `${registry.host}/${repo}`])
    expect(res.code).toBe(1)
    expect(res.stderr).not.toMatch(/\n\s+at /)
    expect(await images()).not.toContain(`${registry.host}/${repo}:latest`)
    return res.stderr.trim().split('\n').pop() as string
  }
  beforeAll(async () => {
    registry = await startHostileRegistry()
    node = await startNode('victim')
  })
  afterAll(async () => {
    await node?.stop()
    await registry?.stop()
  })

  it('cannot make the node buffer an endless manifest: past 4 MB the pull fails and the connection is closed', async () => {
    let sentWhenClosed = -1
    registry.on('/v2/endless/manifests/latest', (req, res) => {
      // Chunked, so no length says in advance how much is coming: it only ever streams.
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })
      const chunk = Buffer.alloc(64 * 1024, ' ')
      const pump = (): void => { while (!res.destroyed && res.write(chunk)); }
      res.on('drain', pump)
      res.on('close', () => { sentWhenClosed = req.socket.bytesWritten })
      pump()
    })
    const message = await refused('endless')
    expect(message).toBe(`aurae: cannot pull ${registry.host}/endless:latest: the manifest endless:latest from http://${registry.host} is larger than the 4 MB aurae accepts`)
    await until('the registry to see its connection closed', () => sentWhenClosed >= 0)
    // 4 MB read, plus what the sockets' buffers held: nowhere near the endless stream it would have been.
    expect(sentWhenClosed).toBeLessThan(32 * 1024 * 1024)
    expect((await node.cli(['status'])).code).toBe(0)
  })

  it('cannot announce a config larger than 4 MB: it is refused before it is fetched', async () => {
    const image = memoryImage([await layerTar([{ name: 'a', body: 'a' }])])
    image.manifest.config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(Buffer.from('big')), size: 5 * 1024 * 1024 }
    serveImage(registry, 'bigconfig', 'latest', image)
    const message = await refused('bigconfig')
    expect(message).toMatch(/: its config says it is 5242880 bytes, more than the 4 MB aurae accepts$/)
    expect(registry.requests).not.toContain(`/v2/bigconfig/blobs/${sha256(Buffer.from('big'))}`)
  })

  it('cannot slip in a layer whose content is not what the config\'s diff_id says: the pull fails naming it and keeps none of it', async () => {
    const good = await layerTar([{ name: 'etc/' }, { name: 'etc/good', body: 'good' }])
    const bad = await layerTar([{ name: 'noise', body: randomBytes(256 * 1024) }])
    const image = memoryImage([good, bad])
    // Valid under its own (compressed) digest, but not the tar the config names.
    image.config.rootfs.diff_ids[1] = sha256(await layerTar([{ name: 'noise', body: 'what the image should hold' }]))
    serveImage(registry, 'corrupt', 'latest', image)
    const layer = image.manifest.layers[1].digest as string
    const message = await refused('corrupt')
    expect(message).toBe(`aurae: layer 2 (${layer}) does not match the image's config: its uncompressed content is ${sha256(bad)}, the config's diff_id says ${image.config.rootfs.diff_ids[1] as string}`)
    expect(stored(layer)).toBe(false)
    expect(ingest()).toEqual([])
  })

  it('cannot have a stored layer taken under another diff_id either', async () => {
    const tar = await layerTar([{ name: 'shared', body: 'shared' }])
    const first = memoryImage([tar])
    serveImage(registry, 'first', 'latest', first)
    expect((await node.cli(['pull', `${registry.host}/first`])).code).toBe(0)
    const second = memoryImage([tar])
    second.config.rootfs.diff_ids[0] = sha256(Buffer.from('another tar'))
    serveImage(registry, 'second', 'latest', second)
    expect(await refused('second')).toMatch(/: layer 1 \(sha256:[0-9a-f]{64}\) does not match the image's config: /)
  })

  it('cannot pass invalid manifests or configs: each is refused by what is wrong with it', async () => {
    const cases: Array<[string, (image: MemoryImage) => void, string]> = [
      ['size-minus-one', i => { i.manifest.layers[0].size = -1 }, 'layer 1 has size -1, not a byte count'],
      ['size-absurd', i => { i.manifest.layers[0].size = 2 ** 50 }, 'layer 1 says it is 1125899906842624 bytes, more than the 1 TB aurae accepts'],
      ['size-text', i => { i.manifest.layers[0].size = '12' }, 'layer 1 has size "12", not a byte count'],
      ['bad-digest', i => { i.manifest.layers[0].digest = 'sha256:xyz' }, 'layer 1 has digest "sha256:xyz", not sha256: and 64 lowercase hex digits'],
      ['no-media-type', i => { delete i.manifest.layers[0].mediaType }, 'layer 1 has no mediaType'],
      ['foreign-layer', i => { i.manifest.layers[0].mediaType = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' }, 'layer 1 has mediaType "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", which aurae cannot unpack'],
      ['schema-one', i => { i.manifest.schemaVersion = 1 }, 'schemaVersion is 1; aurae reads schema 2 only'],
      ['no-layers', i => { (i.manifest as any).layers = undefined }, 'it has no layers list'],
      ['diff-ids-short', i => { i.config.rootfs.diff_ids.pop() }, 'it lists 1 diff_ids for the manifest\'s 2 layers'],
      ['diff-id-bad', i => { i.config.rootfs.diff_ids[0] = 'md5:abc' }, 'rootfs.diff_ids[0] is "md5:abc", not a sha256 digest']
    ]
    for (const [repo, spoil, why] of cases) {
      const image = memoryImage([await layerTar([{ name: 'a', body: repo }]), await layerTar([{ name: 'b', body: repo }])])
      spoil(image)
      serveImage(registry, repo, 'latest', image)
      expect(await refused(repo)).toMatch(new RegExp(`^aurae: cannot pull ${registry.host}/${repo}:latest: (manifest|config) sha256:[0-9a-f]{64} from http://${registry.host} is invalid: ${why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))
    }
    registry.put('/v2/not-json/manifests/latest', Buffer.from('{"schemaVersion": 2, '), 'application/vnd.oci.image.manifest.v1+json')
    expect(await refused('not-json')).toMatch(/ is invalid: it is not JSON$/)
    expect((await node.cli(['status'])).code).toBe(0)
  })
})
