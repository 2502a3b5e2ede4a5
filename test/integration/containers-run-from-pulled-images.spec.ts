import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, layerTar, nginxLayer, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { AURAE, isAlive, run, startNode, until, workload, type TestNode } from '../helpers/node.ts'

describe('containers run from pulled images', () => {
  let registry: TestRegistry
  let node: TestNode
  let busybox: string
  let shared: string
  beforeAll(async () => {
    registry = await startRegistry()
    busybox = `${registry.host}/busybox`
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer([{ name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/sh\n' }, { name: 'etc/group', body: 'root:x:0:\nweb:x:33:\n' }])], { config: { Env: ['PATH=/bin', 'GREETING=from-image'], WorkingDir: '/etc' } })
    node = await startNode('containers')
    shared = mkdtempSync(join(tmpdir(), 'aurae-volume-'))
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
    rmSync(shared, { recursive: true, force: true })
  })

  it('runs attached: output, exit code and the container\'s hostname, pulling the image first', async () => {
    const res = await node.cli(['run', busybox, '--', 'sh', '-c', 'echo $HOSTNAME; exit 4'])
    expect(res).toEqual({ code: 4, stdout: 'busybox\n', stderr: '' })
    expect(await workload(node, 'busybox')).toMatchObject({ kind: 'container', state: 'exited', exitCode: 4 })
    expect(JSON.parse((await node.cli(['images', '--json'])).stdout).map((i: any) => i.name)).toContain(`${busybox}:latest`)
  })

  it('pulls an image the node lacks first, showing its layers on a terminal', async () => {
    const pushed = await pushImage(registry.host, 'fresh', 'latest', [await busyboxLayer()])
    // script(1) gives the CLI a terminal, as a person at a shell has.
    const res = await run('script', ['-qec', [process.execPath, AURAE, '--sock', node.sock, 'run', '--rm', '--net', 'none', `${registry.host}/fresh`, '--', 'echo', 'hello'].join(' '), '/dev/null'])
    expect(res.code).toBe(0)
    expect(res.stdout).toContain(`${pushed.layers[0].slice(7, 19)}: done\r\n`)
    expect(res.stdout.endsWith('hello\r\n')).toBe(true)
  })

  it('runs images in Docker\'s media types and with zstd or uncompressed layers', async () => {
    const kinds = [
      { repo: 'docker-gzip', format: 'docker', compression: 'gzip' },
      { repo: 'oci-zstd', format: 'oci', compression: 'zstd' },
      { repo: 'oci-plain', format: 'oci', compression: 'none' }
    ] as const
    for (const { repo, format, compression } of kinds) {
      // Two layers, the second over the first, so each unpacks in turn.
      await pushImage(registry.host, repo, 'latest', [await busyboxLayer(), await layerTar([{ name: 'etc/' }, { name: 'etc/kind', body: repo }])], { format, compression })
      const res = await node.cli(['run', `${registry.host}/${repo}`, '--rm', '--', 'cat', '/etc/kind'])
      expect(res).toEqual({ code: 0, stdout: repo, stderr: '' })
    }
  })

  it('says why a command could not start, with Docker\'s exit codes, and keeps nothing with --rm', async () => {
    const missing = await node.cli(['run', busybox, '--name', 'missing', '--rm', '--', '/nope'])
    expect(missing.code).toBe(127)
    expect(missing.stderr.trim().split('\n').pop()).toBe('aurae: cannot start the container\'s process: exec: "/nope": stat /nope: no such file or directory')
    const notRunnable = await node.cli(['run', busybox, '--name', 'dir', '--rm', '--', '/etc'])
    expect(notRunnable.code).toBe(126)
    expect(await workload(node, 'missing')).toBeUndefined()
    expect(await workload(node, 'dir')).toBeUndefined()
  })

  it('takes the image\'s env and workdir, and overrides of both, the command, the entrypoint and the user', async () => {
    const env = await node.cli(['run', busybox, '--name', 'env1', '--rm', '--', 'sh', '-c', 'echo $GREETING $(pwd) $(id -u)'])
    expect(env.stdout).toBe('from-image /etc 0\n')
    const over = await node.cli(['run', busybox, '--name', 'env2', '--rm', '-e', 'GREETING=overridden', '-w', '/bin', '-u', 'web', '--', 'sh', '-c', 'echo $GREETING $(pwd) $(id -u):$(id -g)'])
    expect(over.stdout).toBe('overridden /bin 33:33\n')
    const entry = await node.cli(['run', busybox, '--name', 'env3', '--rm', '--entrypoint', 'echo', '--', 'via', 'entrypoint'])
    expect(entry.stdout).toBe('via entrypoint\n')
  })

  it('runs with Docker\'s default capabilities, no new privileges, its hostname and the usual mounts', async () => {
    const res = await node.cli(['run', busybox, '--name', 'inside', '--rm', '--', 'sh', '-c', 'cat /proc/self/status /proc/self/mounts /etc/hosts'])
    expect(res.code).toBe(0)
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    expect(res.stdout).toMatch(/^CapEff:\s+00000000a80425fb$/m)
    expect(res.stdout).toMatch(/^CapBnd:\s+00000000a80425fb$/m)
    expect(res.stdout).toMatch(/^NoNewPrivs:\s+1$/m)
    const mounts = res.stdout.split('\n').map(l => l.split(' ')).filter(f => f.length === 6).map(f => `${f[1]} ${f[2]}`)
    for (const m of ['/ overlay', '/proc proc', '/dev tmpfs', '/dev/pts devpts', '/dev/shm tmpfs', '/dev/mqueue mqueue', '/sys sysfs']) expect(mounts).toContain(m)
    expect(mounts.some(m => m.startsWith('/etc/hosts ')) && mounts.some(m => m.startsWith('/etc/resolv.conf '))).toBe(true)
    expect(res.stdout).toContain('127.0.1.1\tinside\n')
  })

  it('limits a container through the runtime\'s cgroups and reports an OOM kill', async () => {
    const cgroup = (controller: string, name: string): string =>
      join('/sys/fs/cgroup', controller, 'aurae', createHash('sha256').update(node.data).digest('hex').slice(0, 12), `ct-${name}`)
    expect((await node.cli(['run', busybox, '--name', 'capped', '-d', '--cpus', '0.5', '--memory', '48M', '--pids', '20', '--', 'sh', '-c', 'echo up; exec sleep 60'])).code).toBe(0)
    // -d returns once the runtime runs; its limits are in place before the container's process starts.
    await until('the container to start', async () => (await node.cli(['logs', 'capped'])).stdout === 'up\n')
    expect(readFileSync(join(cgroup('cpu', 'capped'), 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000')
    expect(readFileSync(join(cgroup('memory', 'capped'), 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(48 * 1024 * 1024))
    expect(readFileSync(join(cgroup('pids', 'capped'), 'pids.max'), 'utf8').trim()).toBe('20')
    expect((await node.cli(['rm', '-f', 'capped'])).code).toBe(0)
    expect(existsSync(cgroup('memory', 'capped'))).toBe(false)

    const hog = await node.cli(['run', busybox, '--name', 'hog', '--memory', '24M', '--', 'sh', '-c', 'x=$(/bin/busybox yes | /bin/busybox head -c 200000000); echo survived'])
    expect(hog.code).toBe(137)
    expect(hog.stdout).toBe('')
    expect(hog.stderr).toContain('hog was killed for using more than its memory limit (24M)')
    expect(await workload(node, 'hog')).toMatchObject({ state: 'exited', exitCode: 137, oomKilled: true })
  })

  it('gives --net none a loopback of its own, and --net host the host\'s network', async () => {
    const none = await node.cli(['run', busybox, '--name', 'nonet', '--rm', '--net', 'none', '--', 'sh', '-c', 'ls -l /proc/self/ns/net; cat /proc/net/dev'])
    const interfaces = none.stdout.split('\n').slice(3).map(l => l.split(':')[0].trim()).filter(Boolean)
    expect(interfaces).toEqual(['lo'])
    const hostNs = readlinkSync('/proc/self/ns/net')
    expect(none.stdout).not.toContain(hostNs)
    const host = await node.cli(['run', busybox, '--name', 'hostnet', '--rm', '--net', 'host', '--', 'ls', '-l', '/proc/self/ns/net'])
    expect(host.stdout).toContain(hostNs)
  })

  it('unmounts what the runtime left mounted in its state directory when the container goes', async () => {
    await node.cli(['run', busybox, '--name', 'leaky', '-d', '--', 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'])
    const state = join(node.data, 'oci-state', `aurae-${createHash('sha256').update(node.data).digest('hex').slice(0, 12)}-leaky`)
    await until('the runtime\'s state', () => existsSync(join(state, 'state.json')))
    // runc bind-mounts a read-only copy of itself there while it starts; killed at that moment, it leaves it.
    const leak = join(state, 'runc.leaked')
    writeFileSync(leak, '')
    expect((await run('mount', ['--bind', '-o', 'ro', '/usr/sbin/runc', leak])).code).toBe(0)
    expect((await node.cli(['stop', 'leaky'])).code).toBe(0)
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(leak)
    expect(existsSync(state)).toBe(false)
    // What stays until rm is the writable layer and the note of its image, as Docker keeps a stopped container's files.
    expect(readdirSync(join(node.data, 'containers', 'leaky')).sort()).toEqual(['image.json', 'upper'])
    expect((await node.cli(['rm', 'leaky'])).code).toBe(0)
    expect(existsSync(join(node.data, 'containers', 'leaky'))).toBe(false)
    // Nor does any of the cgroups the runtime made for it, in every hierarchy (blkio, devices, freezer, … too).
    const hierarchies = readFileSync('/proc/self/mounts', 'utf8').split('\n').map(l => l.split(' ')).filter(f => f[2] === 'cgroup' || f[2] === 'cgroup2')
    expect(hierarchies.length).toBeGreaterThan(0)
    const key = createHash('sha256').update(node.data).digest('hex').slice(0, 12)
    expect(hierarchies.map(f => join(f[1], 'aurae', key, 'ct-leaky')).filter(d => existsSync(d))).toEqual([])
  })

  it('binds volumes, read-write and read-only', async () => {
    writeFileSync(join(shared, 'in.txt'), 'from the host\n')
    const rw = await node.cli(['run', busybox, '--name', 'vol1', '--rm', '-v', `${shared}:/data`, '--', 'sh', '-c', 'cat /data/in.txt; echo from the container > /data/out.txt'])
    expect(rw).toMatchObject({ code: 0, stdout: 'from the host\n' })
    expect(readFileSync(join(shared, 'out.txt'), 'utf8')).toBe('from the container\n')
    const ro = await node.cli(['run', busybox, '--name', 'vol2', '--rm', '-v', `${shared}:/data:ro`, '--', 'sh', '-c', 'echo nope > /data/ro.txt'])
    expect(ro.code).not.toBe(0)
    expect(ro.stderr).toMatch(/Read-only file system/)
    expect(existsSync(join(shared, 'ro.txt'))).toBe(false)
  })

  it('gives each container its own writable layer over the image', async () => {
    await node.cli(['run', busybox, '--name', 'writer', '--rm', '--', 'sh', '-c', 'echo changed > /etc/motd'])
    const fresh = await node.cli(['run', busybox, '--name', 'reader', '--rm', '--', 'sh', '-c', 'cat /etc/motd 2>&1 || echo absent'])
    expect(fresh.stdout).toMatch(/absent/)
  })

  it('restarts by policy', async () => {
    const marker = join(shared, 'runs')
    const res = await node.cli(['run', busybox, '--name', 'flaky', '--restart', 'on-failure', '-v', `${shared}:/data`, '--', 'sh', '-c', 'echo x >> /data/runs; [ $(cat /data/runs | wc -l) -ge 3 ]'])
    expect(res.code).toBe(0)
    expect(readFileSync(marker, 'utf8')).toBe('x\nx\nx\n')
    expect(await workload(node, 'flaky')).toMatchObject({ state: 'exited', exitCode: 0, restarts: 2 })
  })

  it('keeps a container running across a daemon kill -9 and still learns its exit', async () => {
    const gate = join(shared, 'gate')
    await node.cli(['run', busybox, '--name', 'steady', '-d', '-v', `${shared}:/data`, '--', 'sh', '-c', 'i=0; while [ ! -e /data/gate ]; do i=$((i+1)); echo tick $i; sleep 0.1; done; exit 9'])
    await until('it to tick', async () => (await node.cli(['logs', 'steady'])).stdout.includes('tick 2\n'))
    const before = await workload(node, 'steady')
    const daemon = await node.daemonPid()
    process.kill(daemon, 'SIGKILL')
    await until('the daemon to die', () => !isAlive(daemon))
    expect(isAlive(before.pid)).toBe(true)
    expect((await node.up()).code).toBe(0)
    expect(await workload(node, 'steady')).toMatchObject({ state: 'running', pid: before.pid })
    const seen = Number(/tick (\d+)\n$/.exec((await node.cli(['logs', 'steady'])).stdout)?.[1])
    await until('more ticks', async () => (await node.cli(['logs', 'steady'])).stdout.includes(`tick ${seen + 2}\n`))
    spawn('touch', [gate])
    await until('the exit', async () => (await workload(node, 'steady')).state === 'exited')
    expect(await workload(node, 'steady')).toMatchObject({ exitCode: 9 })
  })

  it('publishes a port on a bridge network, and takes the network away with the container', async () => {
    writeFileSync(join(shared, 'index.html'), 'served from a container\n')
    const port = 20000 + Math.floor(Math.random() * 20000)
    const start = await node.cli(['run', busybox, '--name', 'web', '-d', '-p', `${port}:80`, '-v', `${shared}:/www:ro`, '--', 'httpd', '-f', '-p', '80', '-h', '/www'])
    expect(start).toMatchObject({ code: 0, stdout: 'web\n' })
    const body = await until('the server to answer', async () => await fetch(`http://127.0.0.1:${port}/index.html`).then(async r => r.ok ? await r.text() : undefined, () => undefined))
    expect(body).toBe('served from a container\n')
    // This node's own namespace for it: other tests' nodes may run a `web` of their own meanwhile.
    const own = `aurae-${createHash('sha256').update(node.data).digest('hex').slice(0, 12)}-web`
    const namespaces = async (): Promise<string[]> => (await run('ip', ['netns', 'list'])).stdout.split('\n').map(l => l.split(' ')[0])
    expect(await namespaces()).toContain(own)
    expect((await node.cli(['stop', 'web', '--timeout', '1'])).code).toBe(0)
    expect(await namespaces()).not.toContain(own)
    await expect(fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow()
    await node.cli(['rm', 'web'])
  })

  it('runs nginx pulled as docker.io/library/nginx through the mirror, and curl gets its page', async () => {
    await pushImage(registry.host, 'library/nginx', 'latest', [await nginxLayer('<h1>hello from nginx</h1>\n')], { config: { Cmd: ['/usr/sbin/nginx'], ExposedPorts: { '80/tcp': {} } } })
    writeFileSync(join(node.data, 'registries.json'), JSON.stringify({ mirrors: { 'docker.io': [`http://${registry.host}`] } }))
    const port = 20000 + Math.floor(Math.random() * 20000)
    expect(await node.cli(['run', 'nginx', '-p', `${port}:80`, '-d'])).toMatchObject({ code: 0, stdout: 'nginx\n' })
    const page = await until('nginx to answer', async () => await fetch(`http://127.0.0.1:${port}/`).then(async r => r.ok ? await r.text() : undefined, () => undefined))
    expect(page).toBe('<h1>hello from nginx</h1>\n')
    await until('the request in its log', async () => (await node.cli(['logs', 'nginx'])).stdout.includes('"GET / HTTP/1.1" 200'))
    expect((await node.cli(['stop', 'nginx'])).code).toBe(0)
    expect((await node.cli(['rm', 'nginx'])).code).toBe(0)
  })

  it('refuses an image whose layer reaches outside its root', async () => {
    await pushImage(registry.host, 'evil', 'latest', [await busyboxLayer(), await layerTar([{ name: '../../../../../../tmp/aurae-escaped', body: 'gotcha' }])])
    const res = await node.cli(['run', `${registry.host}/evil`, '--', 'true'])
    expect(res.code).toBe(125)
    expect(res.stderr).toContain('points outside the root')
    expect(existsSync('/tmp/aurae-escaped')).toBe(false)
  })
})

describe('containers run on a peer', () => {
  let registry: TestRegistry
  let alice: TestNode
  let emily: TestNode
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer()])
    emily = await startNode('emily')
    alice = await startNode('alice')
    const token = (await emily.cli(['proxy'])).stdout.trim()
    expect((await alice.cli(['proxy', token])).code).toBe(0)
  })
  afterAll(async () => {
    await alice?.stop()
    await emily?.stop()
    registry?.stop()
  })

  it('pulls and runs the image on the peer named after @', async () => {
    const res = await alice.cli(['run', `${registry.host}/busybox@emily`, '--name', 'remote', '--', 'sh', '-c', 'echo on $HOSTNAME; exit 3'])
    expect(res).toEqual({ code: 3, stdout: 'on remote\n', stderr: '' })
    expect(await workload(emily, 'remote')).toMatchObject({ kind: 'container', exitCode: 3 })
    expect(JSON.parse((await alice.cli(['images', '@emily', '--json'])).stdout).map((i: any) => i.name)).toEqual([`${registry.host}/busybox:latest`])
    expect(JSON.parse((await alice.cli(['images', '--json'])).stdout)).toEqual([])
    expect((await alice.cli(['run', `${registry.host}/busybox@emily`, '--name', 'bg', '-d', '--', 'sleep', '60'])).stdout).toBe('bg\n')
    expect((await alice.cli(['stop', 'bg@emily', '--timeout', '0'])).code).toBe(0)
    expect((await alice.cli(['rm', 'bg@emily'])).code).toBe(0)
  })

  it('serves pages from nginx run on the peer with a published port', async () => {
    await pushImage(registry.host, 'nginx', 'latest', [await nginxLayer('<p>on emily</p>\n')], { config: { Cmd: ['/usr/sbin/nginx'] } })
    const port = 20000 + Math.floor(Math.random() * 20000)
    expect(await alice.cli(['run', `${registry.host}/nginx@emily`, '-p', `${port}:80`, '-d'])).toMatchObject({ code: 0, stdout: 'nginx\n' })
    const page = await until('nginx on emily to answer', async () => await fetch(`http://127.0.0.1:${port}/`).then(async r => r.ok ? await r.text() : undefined, () => undefined))
    expect(page).toBe('<p>on emily</p>\n')
    expect(await workload(emily, 'nginx')).toMatchObject({ kind: 'container', state: 'running' })
    expect((await alice.cli(['stop', 'nginx@emily'])).code).toBe(0)
  })
})


describe('a node\'s container bridge', () => {
  let registry: TestRegistry
  let node: TestNode
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    node = await startNode('bridged')
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  it('stays through a down that keeps a container on it, and goes with the down after the container has gone', async () => {
    const bridge = `aur${createHash('sha256').update(node.data).digest('hex').slice(0, 8)}`
    const hasBridge = async (): Promise<boolean> => (await run('ip', ['link', 'show', bridge])).code === 0
    await node.cli(['run', `${registry.host}/busybox`, '--name', 'kept', '-d', '--', 'sleep', '600'])
    expect(await hasBridge()).toBe(true)
    expect((await node.cli(['down', '--keep-workloads'])).code).toBe(0)
    expect(await hasBridge()).toBe(true)
    expect((await node.up()).code).toBe(0)
    expect((await node.cli(['stop', 'kept', '--timeout', '0'])).code).toBe(0)
    expect((await node.cli(['down'])).code).toBe(0)
    expect(await hasBridge()).toBe(false)
  })
})
