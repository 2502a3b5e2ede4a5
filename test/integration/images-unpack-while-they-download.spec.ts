import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryImage, serveImage, startHostileRegistry, type Handler, type HostileRegistry, type MemoryImage } from '../helpers/hostile-registry.ts'
import { busyboxLayer, layerTar, sha256 } from '../helpers/oci-layout.ts'
import { isAlive, run, startNode, until, type TestNode } from '../helpers/node.ts'

describe('a pull unpacks each layer while it downloads', () => {
  let registry: HostileRegistry
  let node: TestNode
  let image: MemoryImage
  let layer: string
  let body: Buffer
  let last: Buffer
  /** How the registry sends the big layer: whole, held after its first half, or with a byte of its second half changed. */
  let mode: 'whole' | 'hold' | 'corrupt' = 'whole'
  let release: () => void = () => {}
  const roots = (): string[] => existsSync(join(node.data, 'rootfs')) ? readdirSync(join(node.data, 'rootfs')) : []
  const unfinished = (): string | undefined => roots().find(r => r.includes('.tmp-'))
  const stored = (digest: string): boolean => existsSync(join(node.data, 'content', 'sha256', digest.slice(7)))
  const ingest = (): string[] => readdirSync(join(node.data, 'content', 'ingest'))
  const images = async (): Promise<string[]> => JSON.parse((await node.cli(['images', '--json'])).stdout).map((i: any) => i.name)
  /** The first file of the big layer, once the root being made holds it. */
  const firstFileUnpacked = (): boolean => {
    const tmp = unfinished()
    return tmp !== undefined && existsSync(join(node.data, 'rootfs', tmp, 'rootfs', 'data', 'f0'))
  }
  /** Pulls `repo`, lets the big layer's second half go once its first files are unpacked; checks that nothing stayed, and returns the error. */
  const refusedAtTheEnd = async (repo: string): Promise<string> => {
    const pulling = node.cli(['pull', `${registry.host}/${repo}`])
    await until('the first files of the layer to be unpacked while it downloads', firstFileUnpacked)
    release()
    const res = await pulling
    expect(res.code).toBe(1)
    expect(res.stderr).not.toMatch(/\n\s+at /)
    expect(roots()).toEqual([])
    expect(stored(layer)).toBe(false)
    expect(ingest()).toEqual([])
    expect(await images()).toEqual([])
    return res.stderr.trim().split('\n').pop() as string
  }

  beforeAll(async () => {
    registry = await startHostileRegistry()
    // 64 files of 32 KiB that do not compress: the first ones are in the first half of the layer's bytes.
    const files = Array.from({ length: 64 }, (_, i) => ({ name: `data/f${i}`, body: randomBytes(32 * 1024) }))
    last = files[63].body
    image = memoryImage([await busyboxLayer(), await layerTar([{ name: 'data/' }, ...files])])
    // As official images say: a user, a stop signal, a volume.
    image.config.config = { User: '65534', StopSignal: 'SIGQUIT', Volumes: { '/var/lib/app': {} }, Cmd: ['sh'] }
    layer = image.manifest.layers[1].digest
    body = image.blobs.get(layer) as Buffer
    serveImage(registry, 'streamed', 'latest', image)
    // The same layers under a config that names another tar for the big one.
    const lying = memoryImage([])
    lying.blobs = image.blobs
    lying.manifest.layers = image.manifest.layers
    lying.config = { ...image.config, rootfs: { type: 'layers', diff_ids: [image.config.rootfs.diff_ids[0], sha256(Buffer.from('another tar'))] } }
    serveImage(registry, 'lying', 'latest', lying)
    const send: Handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      if (mode === 'whole') return res.end(body)
      const half = Math.floor(body.length / 2)
      res.write(body.subarray(0, half))
      const rest = Buffer.from(body.subarray(half))
      if (mode === 'corrupt') rest[Math.floor(rest.length / 2)] ^= 0xff
      release = () => res.end(rest)
    }
    registry.on(`/v2/streamed/blobs/${layer}`, send)
    registry.on(`/v2/lying/blobs/${layer}`, send)
    node = await startNode('streamer')
  })
  afterAll(async () => {
    release()
    await node?.stop()
    await registry?.stop()
  })

  it('applies a layer\'s first files before its last bytes arrive, and a digest found wrong at its end leaves no root and no blob', async () => {
    mode = 'corrupt'
    expect(await refusedAtTheEnd('streamed')).toMatch(new RegExp(`^aurae: blob ${layer} failed verification: got sha256:`))
    expect((await node.cli(['status'])).code).toBe(0)
  })

  it('refuses a streamed layer whose tar is not the config\'s diff_id, found at its end, leaving no root and no blob', async () => {
    mode = 'hold'
    expect(await refusedAtTheEnd('lying')).toBe(`aurae: layer 2 (${layer}) does not match the image's config: its uncompressed content is ${image.config.rootfs.diff_ids[1] as string}, the config's diff_id says ${sha256(Buffer.from('another tar'))}`)
  })

  it('leaves nothing a later pull trusts when the daemon is killed mid-layer: the next start clears the half-made root', async () => {
    mode = 'hold'
    const pulling = node.cli(['pull', `${registry.host}/streamed`])
    await until('the first files of the layer to be unpacked while it downloads', firstFileUnpacked)
    const daemon = await node.daemonPid()
    process.kill(daemon, 'SIGKILL')
    await until('the daemon to die', () => !isAlive(daemon))
    release()
    expect((await pulling).code).toBe(3)
    expect(unfinished()).toBeDefined()

    mode = 'whole'
    expect((await node.up()).code).toBe(0)
    expect(roots()).toEqual([])
    // Each root's inodes are placed apart from those a removed root just freed (ext4's Orlov allocator).
    expect((await run('lsattr', ['-d', join(node.data, 'rootfs')])).stdout.split(' ')[0]).toContain('T')
    expect(ingest()).toEqual([])
    expect(stored(layer)).toBe(false)
    expect(await images()).toEqual([])
    const pulled = await node.cli(['pull', `${registry.host}/streamed`])
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(sha256(body)).toBe(layer)
    expect(stored(layer)).toBe(true)
    const configHex = (image.manifest.config.digest as string).slice(7)
    expect(roots()).toEqual([configHex])
    const ran = await node.cli(['run', '--rm', '--net', 'none', `${registry.host}/streamed`, '--', '/bin/busybox', 'sha256sum', '/data/f63'])
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout.split(' ')[0]).toBe(sha256(last).slice(7))
  })
})
