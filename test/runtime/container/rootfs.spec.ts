import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { imageRoot } from '../../../src/runtime/container/rootfs.ts'
import { ContentStore } from '../../../src/runtime/image/content-store.ts'
import type { ImageRecord } from '../../../src/runtime/image/images.ts'
import { layerTar, sha256 } from '../../helpers/oci-layout.ts'

describe('an image\'s unpacked root', () => {
  let dir: string
  let content: ContentStore
  let image: ImageRecord
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rootfs-'))
    content = new ContentStore(join(dir, 'content'))
    await content.start()
    const tar = await layerTar([{ name: 'many/' }, ...Array.from({ length: 300 }, (_, i) => ({ name: `many/f${i}`, body: `${i}` }))])
    await content.put(sha256(tar), tar)
    const config = `sha256:${'c'.repeat(64)}`
    image = { name: 'x', repository: 'x', tag: 'latest', digest: config, manifest: config, config, layers: [{ digest: sha256(tar), size: tar.length, mediaType: 'application/vnd.oci.image.layer.v1.tar' }], size: tar.length, created: '', pulledAt: 0 }
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('is unpacked once for callers that ask at the same time, and all get the whole of it', async () => {
    const roots = join(dir, 'rootfs')
    const got = await Promise.all(Array.from({ length: 6 }, async () => await imageRoot(image, content, roots)))
    expect(new Set(got).size).toBe(1)
    expect(readdirSync(join(got[0], 'many'))).toHaveLength(300)
    expect(readdirSync(roots)).toEqual(['c'.repeat(64)])
  })

  it('is never replaced once complete, and what a cut-short unpack left is cleared', async () => {
    const roots = join(dir, 'rootfs')
    const root = await imageRoot(image, content, roots)
    writeFileSync(join(root, 'mark'), 'still here')
    expect(await imageRoot(image, content, roots)).toBe(root)
    expect(readFileSync(join(root, 'mark'), 'utf8')).toBe('still here')
    rmSync(join(roots, 'c'.repeat(64)), { recursive: true })
    mkdirSync(join(roots, `${'c'.repeat(64)}.tmp-deadbeef`, 'rootfs'), { recursive: true })
    await imageRoot(image, content, roots)
    expect(readdirSync(roots)).toEqual(['c'.repeat(64)])
    expect(existsSync(join(root, 'many', 'f299'))).toBe(true)
  })

  it('is not made of a pull\'s layers that fail to be stored; a caller that waited on that unpack makes it from the store', async () => {
    const roots = join(dir, 'rootfs')
    const tar = await content.read(image.layers[0].digest)
    let fail: (err: Error) => void = () => {}
    const stored = new Promise<void>((resolve, reject) => { fail = reject })
    stored.catch(() => {})
    // The pull's bytes arrive whole, but the layer is found wrong as it is stored.
    const pulling = imageRoot(image, content, roots, () => {}, async () => ({ bytes: [tar], unpacked: () => {}, stored }))
    const starting = imageRoot(image, content, roots)
    fail(new Error('blob failed verification'))
    await expect(pulling).rejects.toThrow('blob failed verification')
    const root = await starting
    expect(readdirSync(roots)).toEqual(['c'.repeat(64)])
    expect(readdirSync(join(root, 'many'))).toHaveLength(300)
  })
})
