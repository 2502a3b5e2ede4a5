import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCutProxy, type CutProxy } from '../helpers/cut-proxy.ts'
import { isAlive, startNode, until, type TestNode } from '../helpers/node.ts'
import { busyboxLayer, layerTar, pushImage, sha256, startRegistry, type PushedImage, type TestRegistry } from '../helpers/registry.ts'

describe('a pull cut off part-way', () => {
  let registry: TestRegistry
  let proxy: CutProxy
  let node: TestNode
  let pushed: PushedImage
  let image: string
  const blob = (digest: string): string => join(node.data, 'content', 'sha256', digest.slice(7))
  const ingest = (): string[] => readdirSync(join(node.data, 'content', 'ingest'))
  const images = async (): Promise<any[]> => JSON.parse((await node.cli(['images', '--json'])).stdout)
  beforeAll(async () => {
    registry = await startRegistry()
    proxy = await startCutProxy(registry.host)
    // A layer of 2 MiB that does not compress, so the cut lands inside it.
    pushed = await pushImage(registry.host, 'big', 'latest', [await busyboxLayer(), await layerTar([{ name: 'noise', body: randomBytes(2 * 1024 * 1024) }])])
    image = `${proxy.host}/big`
    node = await startNode('cutter')
  })
  afterAll(async () => {
    await node?.stop()
    await proxy?.stop()
    registry?.stop()
  })

  it('fails with one line, keeps no part of the cut blob, and the next pull starts clean', async () => {
    const noise = pushed.layers[1]
    proxy.arm(`/blobs/${noise}`, 300_000, 'cut')
    const cut = await node.cli(['pull', image])
    expect(cut.code).toBe(1)
    expect(proxy.hits()).toBeGreaterThan(0)
    expect(cut.stderr.trim().split('\n').pop()).toMatch(new RegExp(`^aurae: cannot pull ${proxy.host}/big:latest: .*${noise}`))
    expect(existsSync(blob(noise))).toBe(false)
    expect(ingest()).toEqual([])
    expect(await images()).toEqual([])

    proxy.disarm()
    expect((await node.cli(['pull', image])).code).toBe(0)
    for (const d of [pushed.manifest, pushed.config, ...pushed.layers]) expect(sha256(readFileSync(blob(d)))).toBe(d)
    expect(ingest()).toEqual([])
    expect((await images()).map(i => i.name)).toEqual([`${proxy.host}/big:latest`])
    expect((await node.cli(['rmi', image])).code).toBe(0)
    expect((await node.cli(['image', 'prune'])).code).toBe(0)
  })

  it('throws away a half-written blob when the daemon dies mid-pull, and pulls whole after the restart', async () => {
    const noise = pushed.layers[1]
    const hits = proxy.hits()
    proxy.arm(`/blobs/${noise}`, 500_000, 'stall')
    const pulling = node.cli(['pull', image])
    await until('part of the blob to be written', () => proxy.hits() > hits && ingest().length > 0)
    const daemon = await node.daemonPid()
    process.kill(daemon, 'SIGKILL')
    await until('the daemon to die', () => !isAlive(daemon))
    const interrupted = await pulling
    expect(interrupted.code).toBe(3)
    expect(ingest().length).toBeGreaterThan(0)

    proxy.disarm()
    expect((await node.up()).code).toBe(0)
    expect(ingest()).toEqual([])
    expect(existsSync(blob(noise))).toBe(false)
    expect(await images()).toEqual([])
    expect((await node.cli(['pull', image])).code).toBe(0)
    expect(sha256(readFileSync(blob(noise)))).toBe(noise)
  })
})
