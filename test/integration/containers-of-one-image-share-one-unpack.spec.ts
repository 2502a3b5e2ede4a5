import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, layerTar, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

describe('containers started at once from an image not yet unpacked', () => {
  let registry: TestRegistry
  let node: TestNode
  const FILES = 2000
  beforeAll(async () => {
    registry = await startRegistry()
    // Enough files that unpacking takes a while, so the six starts overlap it.
    const many = await layerTar([{ name: 'many/' }, ...Array.from({ length: FILES }, (_, i) => ({ name: `many/f${i}`, body: `${i}` }))])
    await pushImage(registry.host, 'fresh', 'latest', [await busyboxLayer(), many])
    node = await startNode('sharer')
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  it('all run, each on the whole root: one unpack, which the others wait for', async () => {
    const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']
    const runs = await Promise.all(names.map(async name =>
      await node.cli(['run', '-d', '--net', 'none', '--name', name, `${registry.host}/fresh`, '--', 'sh', '-c', 'ls /many | wc -l; echo $(cat /many/f1999)'])))
    for (const res of runs) expect(res.code, res.stderr).toBe(0)
    for (const name of names) {
      const w = await until(`${name} to exit`, async () => { const w = await workload(node, name); return w?.state === 'exited' ? w : undefined })
      expect(w, name).toMatchObject({ exitCode: 0, error: null })
      expect((await node.cli(['logs', name])).stdout.split(/\s+/).filter(Boolean), name).toEqual([String(FILES), '1999'])
    }
  })
})
