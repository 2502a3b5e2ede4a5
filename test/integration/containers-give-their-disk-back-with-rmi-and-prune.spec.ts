import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, layerTar, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

/** An image like the official redis: a non-root `User`, a `Volumes` entry, a `StopSignal`, and some weight to unpack. */
async function redisLike (registry: TestRegistry, repo: string): Promise<string> {
  const weight = await layerTar([{ name: 'data/' }, { name: 'tmp/', mode: 0o1777 }, { name: 'opt/' }, ...Array.from({ length: 20 }, (_, i) => ({ name: `opt/blob${i}`, body: Buffer.alloc(50_000, i) }))])
  await pushImage(registry.host, repo, 'latest', [await busyboxLayer([
    { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999:redis:/data:/bin/sh\n' },
    { name: 'etc/group', body: 'root:x:0:\nredis:x:999:\n' }
  ]), weight], { config: { User: 'redis', Volumes: { '/data': {} }, StopSignal: 'SIGINT', Env: ['PATH=/bin'], Cmd: ['sh', '-c', 'sleep 1000'] } })
  return `${registry.host}/${repo}`
}

describe('rmi, image prune and system df', () => {
  let registry: TestRegistry
  let node: TestNode
  let image: string
  const roots = (): string[] => readdirSync(join(node.data, 'rootfs')).filter(f => /^[a-f0-9]{64}$/.test(f))
  const df = async (): Promise<Record<string, any>> => {
    const res = await node.cli(['system', 'df', '--json'])
    expect(res.code, res.stderr).toBe(0)
    return Object.fromEntries(JSON.parse(res.stdout).map((r: any) => [r.type, r]))
  }
  beforeAll(async () => {
    registry = await startRegistry()
    image = await redisLike(registry, 'redis')
    node = await startNode('disk')
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  it('refuses to remove an image a running or exited container uses, in one line, and keeps it', async () => {
    expect((await node.cli(['run', '-d', '--net', 'none', '--name', 'cache', image])).code).toBe(0)
    await until('cache to run', async () => (await workload(node, 'cache'))?.state === 'running')
    expect((await node.cli(['run', '--net', 'none', '--name', 'once', image, '--', 'true'])).code).toBe(0)
    const refused = await node.cli(['rmi', image])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(`aurae: image ${image}:latest is used by workloads cache, once; remove them first, or force with: aurae rmi -f ${image}\n`)
    expect(JSON.parse((await node.cli(['images', '--json'])).stdout).map((i: any) => i.name)).toEqual([`${image}:latest`])
  })

  it('shows images, unpacked roots, writable layers and logs with their sizes', async () => {
    const writer = await node.cli(['run', '-d', '--net', 'none', '--name', 'writer', image, '--', 'sh', '-c', 'cat /opt/blob1 /opt/blob2 > /tmp/copy; echo hello-log; sleep 1000'])
    expect(writer.code, writer.stderr).toBe(0)
    await until('writer to write', async () => (await node.cli(['logs', 'writer'])).stdout === 'hello-log\n')
    const usage = await df()
    expect(usage.images).toMatchObject({ total: 1, active: 1, reclaimable: 0 })
    expect(usage.images.size).toBeGreaterThan(1_000_000)
    expect(usage.roots).toMatchObject({ total: 1, active: 1, reclaimable: 0 })
    expect(usage.roots.size).toBeGreaterThan(1_000_000)
    expect(usage.containers).toMatchObject({ total: 3, active: 2 })
    // The writer's /tmp/copy is in its writable layer.
    expect(usage.containers.size).toBeGreaterThanOrEqual(100_000)
    expect(usage.logs.size).toBeGreaterThanOrEqual('hello-log\n'.length)
    const text = await node.cli(['system', 'df'])
    expect(text.stdout).toMatch(/^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +1 +1 .*\nUnpacked roots +1 +1 .*\nContainers +3 +2 .*\nLogs +/)
  })

  it('counts an exited container\'s writable layer, as reclaimable, and keeps it for its next start', async () => {
    const before = (await df()).containers
    const wrote = await node.cli(['run', '--net', 'none', '--name', 'wrote', image, '--', 'sh', '-c', 'if [ -f /tmp/copy ]; then echo again; else cat /opt/blob1 /opt/blob2 > /tmp/copy; echo first; fi'])
    expect(wrote).toMatchObject({ code: 0, stdout: 'first\n' })
    const after = (await df()).containers
    expect(after).toMatchObject({ total: before.total + 1, active: before.active })
    expect(after.size - before.size).toBeGreaterThanOrEqual(100_000)
    expect(after.reclaimable - before.reclaimable).toBeGreaterThanOrEqual(100_000)
    expect((await node.cli(['start', 'wrote'])).code).toBe(0)
    await until('wrote to end again', async () => (await node.cli(['logs', 'wrote'])).stdout === 'first\nagain\n')
  })

  it('keeps, after rmi -f, the blobs and root that a running or an exited container uses, as Docker keeps their layers', async () => {
    const blobs = (): string[] => readdirSync(join(node.data, 'content', 'sha256'))
    for (const name of ['writer', 'wrote']) {
      await node.cli(['kill', name])
      await until(`${name} to end`, async () => (await workload(node, name)).state === 'exited')
      expect((await node.cli(['rm', name])).code).toBe(0)
    }
    expect((await node.cli(['rmi', '-f', image])).code).toBe(0)
    expect(JSON.parse((await node.cli(['images', '--json'])).stdout)).toEqual([])
    const stored = blobs()
    expect(stored).toHaveLength(4)
    expect((await node.cli(['image', 'prune'])).stderr).toMatch(/^removed 0 blobs and 0 unpacked roots\b/)
    expect(blobs()).toEqual(stored)
    expect(roots()).toHaveLength(1)
    expect((await df()).roots).toMatchObject({ total: 1, active: 1 })
    expect((await workload(node, 'cache')).state).toBe('running')
    // The exited one starts again from what it kept, without pulling the removed image back.
    const ran = (await workload(node, 'once')).startedAt
    expect((await node.cli(['start', 'once'])).code).toBe(0)
    await until('once to run again and end', async () => { const w = await workload(node, 'once'); return w.startedAt !== ran && w.state === 'exited' && w.exitCode === 0 })
    expect(JSON.parse((await node.cli(['images', '--json'])).stdout)).toEqual([])
    expect((await node.cli(['kill', 'cache'])).code).toBe(0)
    await until('cache to end', async () => (await workload(node, 'cache')).state === 'exited')
    expect((await node.cli(['rm', 'cache'])).code).toBe(0)
    expect((await node.cli(['image', 'prune'])).stderr).toMatch(/^removed 0 blobs and 0 unpacked roots\b/)
    expect(roots()).toHaveLength(1)
    expect((await node.cli(['rm', 'once'])).code).toBe(0)
    const pruned = await node.cli(['image', 'prune'])
    expect(pruned.stderr).toMatch(/^removed 4 blobs and 1 unpacked root, [\d.]+[KM]\n$/)
    expect(roots()).toEqual([])
    expect(readdirSync(join(node.data, 'content', 'sha256'))).toEqual([])
    expect(JSON.parse((await node.cli(['ps', '-a', '--json'])).stdout)).toEqual([])
    const usage = await df()
    for (const type of ['images', 'roots', 'containers']) expect(usage[type], type).toMatchObject({ total: 0, size: 0 })
  })

  it('gives an unused image\'s unpacked root back at rmi', async () => {
    const other = await redisLike(registry, 'other')
    expect((await node.cli(['run', '--rm', '--net', 'none', other, '--', 'true'])).code).toBe(0)
    expect(roots()).toHaveLength(1)
    expect((await node.cli(['rmi', other])).code).toBe(0)
    expect(roots()).toEqual([])
    expect(existsSync(join(node.data, 'rootfs'))).toBe(true)
  })
})
