import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { pushRedisLike } from '../helpers/redis-like.ts'
import { startNode, until, workload, workloads, type TestNode } from '../helpers/node.ts'

describe('containers take free names and refuse host ports already taken', () => {
  let registry: TestRegistry
  let node: TestNode
  let redis: string
  const listeners: Server[] = []
  beforeAll(async () => {
    registry = await startRegistry()
    await pushRedisLike(registry.host)
    redis = `${registry.host}/redis`
    node = await startNode('names')
  })
  afterAll(async () => {
    for (const l of listeners) l.close()
    await node?.stop()
    registry?.stop()
  })

  const freePort = (): number => 20000 + Math.floor(Math.random() * 20000)
  const names = async (): Promise<string[]> => (await workloads(node)).map(w => w.name).sort()

  it('names an unnamed container after its image, then NAME-2, NAME-3, even for runs at once', async () => {
    expect(await node.cli(['run', redis, '-d'])).toMatchObject({ code: 0, stdout: 'redis\n' })
    expect(await node.cli(['run', redis, '-d'])).toMatchObject({ code: 0, stdout: 'redis-2\n' })
    const together = await Promise.all([1, 2, 3].map(async () => await node.cli(['run', redis, '-d'])))
    expect(together.map(r => r.code)).toEqual([0, 0, 0])
    expect(together.map(r => r.stdout).sort()).toEqual(['redis-3\n', 'redis-4\n', 'redis-5\n'])
    expect(await names()).toEqual(['redis', 'redis-2', 'redis-3', 'redis-4', 'redis-5'])
  })

  it('runs a one-off --rm beside them under a free name, says which, and forgets it after', async () => {
    await node.cli(['rm', '-f', 'redis-3'])
    const once = await node.cli(['run', '--rm', redis, '--', 'echo', 'one-off'])
    expect(once).toEqual({ code: 0, stdout: 'one-off\n', stderr: 'aurae: redis is taken; running as redis-3\n' })
    await until('the one-off to be forgotten', async () => !(await names()).includes('redis-3'))
    expect(await node.cli(['run', redis, '--name', 'redis', '-d'])).toMatchObject({ code: 125, stderr: 'aurae: a workload named redis already exists (remove it with: aurae rm redis)\n' })
    for (const n of await names()) await node.cli(['rm', '-f', n])
  })

  it('refuses a host port another container publishes, with Docker\'s words, and records nothing', async () => {
    const port = freePort()
    expect(await node.cli(['run', redis, '--name', 'first', '-d', '-p', `${port}:6379`])).toMatchObject({ code: 0, stdout: 'first\n' })
    await until('the first to answer', async () => await fetch(`http://127.0.0.1:${port}/`).then(async r => r.ok ? await r.text() : undefined, () => undefined))
    const second = await node.cli(['run', redis, '--name', 'second', '-d', '-p', `127.0.0.1:${port}:6379`])
    expect(second.code).toBe(125)
    expect(second.stderr).toBe(`aurae: Bind for 127.0.0.1:${port}/tcp failed: port is already allocated (published by first)\n`)
    expect(await workload(node, 'second')).toBeUndefined()
    // Another protocol on the same number is another port.
    expect(await node.cli(['run', redis, '--name', 'udp', '-d', '-p', `${port}:6379/udp`])).toMatchObject({ code: 0 })
    // Once the first has stopped, its port is free again; starting the first again is then refused.
    expect((await node.cli(['stop', 'first', '-t', '1'])).code).toBe(0)
    expect(await node.cli(['run', redis, '--name', 'second', '-d', '-p', `${port}:6379`])).toMatchObject({ code: 0, stdout: 'second\n' })
    const again = await node.cli(['start', 'first'])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toBe(`aurae: Bind for 0.0.0.0:${port}/tcp failed: port is already allocated (published by second)\n`)
    for (const n of ['first', 'second', 'udp']) await node.cli(['rm', '-f', n])
  })

  it('gives a port to exactly one of two runs that ask for it at once', async () => {
    const port = freePort()
    const both = await Promise.all(['a', 'b'].map(async n => await node.cli(['run', redis, '--name', n, '-d', '-p', `${port}:6379`])))
    expect(both.map(r => r.code).sort()).toEqual([0, 125])
    expect(both.find(r => r.code === 125)?.stderr).toMatch(/^aurae: Bind for 0\.0\.0\.0:\d+\/tcp failed: port is already allocated \(published by [ab]\)\n$/)
    expect((await names()).length).toBe(1)
    for (const n of await names()) await node.cli(['rm', '-f', n])
  })

  it('refuses a host port that a process outside aurae listens on', async () => {
    const port = freePort()
    const other = createServer()
    listeners.push(other)
    await new Promise<void>(resolve => other.listen(port, '0.0.0.0', resolve))
    const res = await node.cli(['run', redis, '--name', 'blocked', '-d', '-p', `${port}:6379`])
    expect(res.code).toBe(125)
    expect(res.stderr).toBe(`aurae: Bind for 0.0.0.0:${port}/tcp failed: port is already allocated (something else on this host listens on it)\n`)
    expect(await workload(node, 'blocked')).toBeUndefined()
  })
})
