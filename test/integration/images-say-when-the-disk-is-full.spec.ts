import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, layerTar, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { startNode, type TestNode } from '../helpers/node.ts'

describe('a node whose disk fills up', () => {
  let registry: TestRegistry
  let node: TestNode
  const mounts: string[] = []
  /** A small tmpfs over `dir` inside the node's data directory, unmounted in afterAll. */
  const fill = (dir: string, size: string): void => {
    mkdirSync(dir, { recursive: true })
    const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' })
    if (res.status !== 0) throw new Error(`mount failed: ${res.stderr}`)
    mounts.push(dir)
  }
  const unmount = (dir: string): void => {
    if (spawnSync('umount', [dir]).status === 0) mounts.splice(mounts.indexOf(dir), 1)
  }
  beforeAll(async () => {
    registry = await startRegistry()
    // 4 MiB that does not compress, over busybox.
    await pushImage(registry.host, 'big', 'latest', [await busyboxLayer(), await layerTar([{ name: 'noise', body: randomBytes(4 * 1024 * 1024) }])])
    node = await startNode('cramped')
  })
  afterAll(async () => {
    for (const dir of [...mounts].reverse()) spawnSync('umount', ['-l', dir])
    await node?.stop()
    registry?.stop()
  })

  it('says no space left on the content store when a pull fills it, and keeps nothing half-written', async () => {
    const content = join(node.data, 'content')
    fill(content, '2m')
    for (const d of ['ingest', 'sha256']) mkdirSync(join(content, d))
    try {
      const res = await node.cli(['pull', `${registry.host}/big`])
      expect(res.code).toBe(1)
      expect(res.stderr.trim().split('\n').pop()).toBe(`aurae: cannot pull ${registry.host}/big:latest: no space left on ${content}`)
      expect(readdirSync(join(content, 'ingest'))).toEqual([])
      expect(JSON.parse((await node.cli(['images', '--json'])).stdout)).toEqual([])
    } finally {
      unmount(content)
    }
  })

  it('says no space left on the image roots when unpacking fills them, and leaves no half-made root', async () => {
    const roots = join(node.data, 'rootfs')
    fill(roots, '2m')
    const res = await node.cli(['run', '--rm', '--net', 'none', `${registry.host}/big`, '--', 'true'])
    expect(res.code).toBe(125)
    expect(res.stderr.trim().split('\n').pop()).toBe(`aurae: no space left on ${roots}`)
    expect(readdirSync(roots)).toEqual([])
    expect((await node.cli(['status'])).code).toBe(0)
  })
})
