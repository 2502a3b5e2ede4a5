import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, freePort, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { AURAE, isAlive, run, startNode, type Result, type TestNode } from '../helpers/node.ts'

/** PIDs of processes whose command line names `text` (a node's data dir). */
function processesNaming (text: string): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
  return ps.stdout.split('\n').filter(l => l.includes(text) && !l.includes(' ps -eo')).map(l => Number(l.trim().split(/\s+/)[0]))
}

/** The node's folders under each cgroup hierarchy of this machine. */
function cgroupFolders (nodeKey: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').map(l => l.split(' '))
    .filter(f => f[2] === 'cgroup' || f[2] === 'cgroup2')
    .map(f => join(f[1], 'aurae', nodeKey))
    .filter(d => existsSync(d))
}

describe('nodes on one machine keep to their own ports and subnets', () => {
  let dir: string
  let holder: Server
  let port: number
  const sock = (): string => join(dir, 'b.sock')
  const data = (): string => join(dir, 'b-data')
  const cli = async (args: string[]): Promise<Result> => await run(process.execPath, [AURAE, '--sock', sock(), ...args], { env: { ...process.env, NO_COLOR: '1' } })
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-one-machine-'))
    port = await freePort()
    holder = createServer()
    await new Promise<void>(resolve => holder.listen(port, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    await cli(['down'])
    for (const pid of processesNaming(data())) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    holder?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('says in one line which port is taken and which flag picks another, and leaves nothing running', async () => {
    const res = await cli(['up', 'b', '--key', join(dir, 'b.key'), '--data', data(), '--listen', `/ip4/127.0.0.1/tcp/${port}`])
    expect(res.code).toBe(1)
    expect(res.stderr).toBe(`aurae: port ${port} is in use (the mesh listens on /ip4/127.0.0.1/tcp/${port}); pick another with: aurae up --listen /ip4/127.0.0.1/tcp/${port + 1}\n`)
    expect(processesNaming(data())).toEqual([])
    expect((await cli(['status'])).code).toBe(3)
  })

  it('says what happened on a first up, a restart and a repeat, and remembers --listen for the restart', async () => {
    const other = await freePort()
    const listen = `/ip4/127.0.0.1/tcp/${other}`
    const first = await cli(['up', 'b', '--key', join(dir, 'b.key'), '--data', data(), '--listen', listen])
    expect(first.code).toBe(0)
    expect(first.stderr.split('\n')[0]).toBe('b is up')
    expect(first.stderr).not.toContain('already')
    const repeat = await cli(['up', 'b', '--key', join(dir, 'b.key'), '--data', data()])
    expect(repeat).toMatchObject({ code: 0, stderr: 'b is already up; nothing to do\n' })
    expect((await cli(['down'])).code).toBe(0)
    // Down leaves no empty cgroup folder of the node's behind, in any hierarchy.
    const nodeKey = createHash('sha256').update(data()).digest('hex').slice(0, 12)
    expect(cgroupFolders(nodeKey)).toEqual([])
    // Only `aurae up`: the name is the node's, the rest is remembered.
    const again = await cli(['up', '--key', join(dir, 'b.key'), '--data', data()])
    expect(again).toMatchObject({ code: 0, stderr: 'auraed started; b is up\n' })
    const status = JSON.parse((await cli(['status', '--json'])).stdout)
    expect(status.mesh.addrs.some((a: string) => a.startsWith(listen))).toBe(true)
    // The remembered port taken meanwhile: the restart says so in one line too.
    expect((await cli(['down'])).code).toBe(0)
    const taker = createServer()
    await new Promise<void>(resolve => taker.listen(other, '127.0.0.1', resolve))
    try {
      const taken = await cli(['up', '--key', join(dir, 'b.key'), '--data', data()])
      expect(taken).toMatchObject({ code: 1, stderr: `aurae: port ${other} is in use (the mesh listens on ${listen}); pick another with: aurae up --listen /ip4/127.0.0.1/tcp/${other + 1}\n` })
      expect(processesNaming(data())).toEqual([])
      // Nor any cgroup folder of the node's: the start that failed took its own with it.
      expect(cgroupFolders(nodeKey)).toEqual([])
    } finally {
      taker.close()
    }
  })

  it('refuses an up without a name on a fresh node, leaving nothing running', async () => {
    const fresh = join(dir, 'fresh')
    const res = await run(process.execPath, [AURAE, '--sock', join(dir, 'fresh.sock'), 'up', '--key', join(dir, 'fresh.key'), '--data', fresh, '--listen', '/ip4/127.0.0.1/tcp/0'], { env: { ...process.env, NO_COLOR: '1' } })
    expect(res).toMatchObject({ code: 2, stderr: 'aurae: this node has no name yet; run: aurae up NAME[@DOMAIN]\n' })
    expect(processesNaming(fresh)).toEqual([])
  })
})

describe('a node started under ip netns exec', () => {
  const ns = `aur-netns-exec-${process.pid}`
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-netns-exec-'))
    spawnSync('ip', ['netns', 'add', ns])
    spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
  })
  afterAll(async () => {
    await run(process.execPath, [AURAE, '--sock', join(dir, 'sock'), 'down'])
    for (const pid of processesNaming(join(dir, 'data'))) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    spawnSync('ip', ['netns', 'del', ns])
    rmSync(dir, { recursive: true, force: true })
  })

  it('says it sees no cgroups there and how to start it instead', async () => {
    // `ip netns exec` mounts a /sys of its own, without the cgroup hierarchies.
    const res = await run('ip', ['netns', 'exec', ns, process.execPath, AURAE, '--sock', join(dir, 'sock'), 'up', 'inns', '--key', join(dir, 'key'), '--data', join(dir, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0'], { env: { ...process.env, NO_COLOR: '1' } })
    expect(res.code).toBe(0)
    expect(res.stderr).toContain('warning: workloads run without limits and containers cannot start: no cgroup hierarchy is mounted in this process\'s view of /sys (`ip netns exec` mounts a /sys of its own without them): start auraed with nsenter --net=/run/netns/NAME instead\n')
  })
})

describe('two nodes on one machine', () => {
  let registry: TestRegistry
  let parent: string
  const nodes: TestNode[] = []
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    parent = mkdtempSync(join(tmpdir(), 'aurae-subnets-'))
  })
  afterAll(async () => {
    for (const n of nodes) await n.stop()
    registry?.stop()
    rmSync(parent, { recursive: true, force: true })
  })

  it('never bridge containers on the same subnet, even when their data dirs hash alike', async () => {
    // Two data dirs whose hashes start with the same byte: the subnet a hash alone gives is the same for both.
    const byte = (path: string): string => createHash('sha256').update(path).digest('hex').slice(0, 2)
    const first = join(parent, 'n0')
    let second = ''
    for (let i = 1; second === ''; i++) if (byte(join(parent, `n${i}`)) === byte(first)) second = join(parent, `n${i}`)
    nodes.push(await startNode('one', undefined, undefined, undefined, first))
    nodes.push(await startNode('two', undefined, undefined, undefined, second))
    const subnets = []
    for (const n of nodes) {
      const res = await n.cli(['run', '--rm', `${registry.host}/busybox`, '--', 'sh', '-c', 'ip -4 -o addr show eth0'])
      expect(res.code).toBe(0)
      subnets.push(/inet (\d+\.\d+\.\d+)\.\d+\/24/.exec(res.stdout)?.[1])
    }
    expect(subnets[0]).toMatch(/^10\.89\.\d+$/)
    expect(subnets[1]).toMatch(/^10\.89\.\d+$/)
    expect(subnets[0]).not.toBe(subnets[1])
  })
})
