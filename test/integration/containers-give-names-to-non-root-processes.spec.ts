import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { binaryEntries, busyboxLayer, layerTar, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { startNode, type TestNode } from '../helpers/node.ts'

describe('containers give names to non-root processes', () => {
  let registry: TestRegistry
  let node: TestNode
  let image: string
  beforeAll(async () => {
    registry = await startRegistry()
    image = `${registry.host}/redis`
    // As the official redis image: a user of its own, and glibc's resolver (getent) reading /etc/hosts.
    const users = [
      { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999::/home/redis:/bin/sh\n' },
      { name: 'etc/group', body: 'root:x:0:\nredis:x:999:\n' },
      { name: 'etc/nsswitch.conf', body: 'hosts: files dns\n' }
    ]
    await pushImage(registry.host, 'redis', 'latest', [await busyboxLayer(users), await layerTar(binaryEntries(['/usr/bin/getent']))], { config: { User: 'redis', Env: ['PATH=/usr/bin:/bin'] } })
    node = await startNode('names')
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  it('resolves localhost and reads /etc/hostname as the image\'s non-root user', async () => {
    const res = await node.cli(['run', image, '--name', 'cache', '--rm', '--', 'sh', '-c', 'id -un; getent hosts localhost; cat /etc/hostname; cat /etc/resolv.conf >/dev/null && echo resolv readable'])
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    const [user, localhost, hostname, resolv] = res.stdout.trim().split('\n')
    expect(user).toBe('redis')
    expect(localhost).toMatch(/^(127\.0\.0\.1|::1)\s+localhost/)
    expect(hostname).toBe('cache')
    expect(resolv).toBe('resolv readable')
  })

  it('resolves its own name and keeps the files read-only', async () => {
    const res = await node.cli(['run', image, '--name', 'named', '--rm', '-u', 'root', '--', 'sh', '-c', 'getent hosts named; echo x > /etc/hosts || echo refused'])
    expect(res.stdout).toMatch(/^127\.0\.1\.1\s+named\nrefused\n$/)
  })
})
