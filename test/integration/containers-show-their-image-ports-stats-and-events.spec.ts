import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, freePort, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

// An image in the style of the official redis one: a non-root user, SIGINT to stop, a volume.
const REDIS_LIKE = {
  User: 'redis',
  StopSignal: 'SIGINT',
  Volumes: { '/data': {} },
  Env: ['PATH=/bin'],
  Cmd: ['sh', '-c', 'trap "exit 0" INT TERM; while :; do :; done']
}

describe('containers show their image, ports, stats and events', () => {
  let registry: TestRegistry
  let node: TestNode
  let image: string
  let port: number
  beforeAll(async () => {
    registry = await startRegistry()
    image = `${registry.host}/redis`
    const passwd = [{ name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999:redis:/data:/bin/sh\n' }, { name: 'etc/group', body: 'root:x:0:\nredis:x:999:\n' }]
    await pushImage(registry.host, 'redis', '7', [await busyboxLayer(passwd)], { config: REDIS_LIKE })
    node = await startNode('ops')
    port = await freePort()
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  it('lists IMAGE and PORTS in ps, and image and ports in ps --json', async () => {
    const run = await node.cli(['run', '-d', '--name', 'cache', '--memory', '64M', '-p', `127.0.0.1:${port}:6379`, `${image}:7`])
    expect(run).toMatchObject({ code: 0, stdout: 'cache\n' })
    const ps = await node.cli(['ps'])
    const [header, row] = ps.stdout.trim().split('\n').map(l => l.split(/\s{2,}/))
    expect(header).toEqual(['NAME', 'KIND', 'IMAGE', 'STATE', 'PID', 'EXIT', 'UPTIME', 'RESTARTS', 'PORTS'])
    expect(row[2]).toBe(`${image}:7`)
    expect(row[8]).toBe(`127.0.0.1:${port}->6379/tcp`)
    expect(await workload(node, 'cache')).toMatchObject({
      image: `${image}:7`,
      ports: [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 6379, protocol: 'tcp' }]
    })
  })

  it('says in images how long ago an image was made, in words, as Docker does', async () => {
    const images = await node.cli(['images'])
    expect(images.stdout).toMatch(/^\S+redis\s+7\s+sha256:\S+\s+\S+\s+\d+ (second|minute|hour|day|week|month|year)s? ago$/m)
  })

  it('reads live CPU, memory and processes from each container\'s cgroup in stats', async () => {
    const res = await node.cli(['stats', '--no-stream', '--json'])
    expect(res.code).toBe(0)
    const [cache] = JSON.parse(res.stdout)
    expect(cache).toMatchObject({ name: 'cache', memoryLimitBytes: 64 * 1024 * 1024 })
    // A shell spinning in a loop: it used CPU between the two readings, and holds memory and a process.
    expect(cache.cpuPercent).toBeGreaterThan(0)
    expect(cache.memoryBytes).toBeGreaterThan(0)
    expect(cache.pids).toBeGreaterThanOrEqual(1)
    const table = await node.cli(['stats', 'cache', '--no-stream'])
    expect(table.stdout.split('\n')[0].split(/\s{2,}/)).toEqual(['NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'])
    expect(table.stdout).toMatch(/^cache\s+\d+\.\d\d%\s+\S+ \/ 64M\s+\d+\.\d\d%\s+\d+$/m)
    const missing = await node.cli(['stats', 'nothing', '--no-stream'])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('streams lifecycle events as they happen, and replays the kept ones with --since', async () => {
    const follower = node.spawnCli(['events', '--json'])
    let followed = ''
    follower.stdout?.on('data', d => { followed += String(d) })
    try {
      await until('the follower to be connected', async () => {
        // Each probe is an event of its own; the follower is connected once one reaches it.
        await node.cli(['run', '--rm', '--net', 'none', '--name', 'probe', image + ':7', '--', 'true'])
        return followed.includes('"probe"')
      })
      await node.cli(['run', '-d', '--net', 'none', '--name', 'fails', '--restart', 'on-failure', image + ':7', '--', 'sh', '-c', 'exit 3'])
      await until('a restart', async () => (await workload(node, 'fails'))?.restarts >= 1)
      expect((await node.cli(['stop', 'fails'])).code).toBe(0)
      const hog = await node.cli(['run', '--net', 'none', '--name', 'hog', '--memory', '24M', image + ':7', '--', 'sh', '-c', 'x=$(/bin/busybox yes | /bin/busybox head -c 200000000)'])
      expect(hog.code).toBe(137)
      // The same form as an executable's OOM kill.
      expect((await node.cli(['ps', '--all'])).stdout).toMatch(/^hog .* 137 \(oom\)/m)
      // Only a child killed, the container's main process carrying on: OOM-killed still, as Docker says. The child
      // offers itself as the victim (anyone may raise their own oom_score_adj), so the kernel's choice is certain.
      const parent = await node.cli(['run', '--net', 'none', '--name', 'parent', '--memory', '24M', image + ':7', '--', 'sh', '-c', '/bin/busybox sh -c "echo 1000 > /proc/self/oom_score_adj; x=\\$(/bin/busybox yes | /bin/busybox head -c 200000000)"; echo carried on'])
      expect(parent).toMatchObject({ code: 0, stdout: 'carried on\n' })
      expect(parent.stderr).toContain('a process of parent was killed for using more than its memory limit (24M)')
      expect(await workload(node, 'parent')).toMatchObject({ exitCode: 0, oomKilled: true })
      expect((await node.cli(['stop', 'cache'])).code).toBe(0)
      expect((await node.cli(['rm', 'cache'])).code).toBe(0)
      await until('the removal to be followed', () => followed.includes('"removed","kind":"container","name":"cache"'))
    } finally {
      follower.kill('SIGINT')
    }
    const replay = await node.cli(['events', '--since', '1h', '--until', '0s', '--json'])
    expect(replay.code).toBe(0)
    const seen = replay.stdout.trim().split('\n').map(l => JSON.parse(l))
    const of = (name: string): string[] => seen.filter(e => e.name === name).map(e => e.type)
    expect(seen.find(e => e.type === 'pulled')).toMatchObject({ kind: 'image', name: `${image}:7` })
    expect(of('cache')).toEqual(['created', 'started', 'exited', 'removed'])
    expect(seen.find(e => e.name === 'cache' && e.type === 'exited')).toMatchObject({ kind: 'container', image: `${image}:7`, exitCode: 0 })
    expect(of('fails').slice(0, 4)).toEqual(['created', 'started', 'exited', 'restarted'])
    expect(of('fails').at(-1)).toBe('exited')
    expect(seen.find(e => e.name === 'fails' && e.type === 'exited')).toMatchObject({ exitCode: 3 })
    expect(of('hog')).toEqual(['created', 'started', 'oom', 'exited'])
    expect(of('parent')).toEqual(['created', 'started', 'oom', 'exited'])
    expect(seen.find(e => e.name === 'hog' && e.type === 'exited')).toMatchObject({ exitCode: 137 })
    // What the follower printed is what was kept, in the same order.
    const followedEvents = followed.trim().split('\n').map(l => JSON.parse(l))
    expect(followedEvents.filter(e => e.name === 'cache').map(e => e.type)).toEqual(['exited', 'removed'])
    const human = await node.cli(['events', '--since', '1h', '--until', '0s'])
    expect(human.stdout).toMatch(new RegExp(`^\\S+Z container exited fails \\(image=${image.replace(/[.]/g, '\\.')}:7, exitCode=3\\)$`, 'm'))
    const bad = await node.cli(['events', '--since', 'yesterday'])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
  })
})
