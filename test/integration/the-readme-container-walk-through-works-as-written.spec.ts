import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestNet } from '../helpers/netns.ts'
import { AURAE, ROOT, run, startNode, until, workload, type Result, type TestNode } from '../helpers/node.ts'
import { pushRedisLike } from '../helpers/redis-like.ts'
import { busyboxLayer, nginxLayer, pushImage, serveInside, startRegistry, startRegistryInside, type TestRegistry } from '../helpers/registry.ts'

const NGINX_PAGE = '<h1>Welcome to nginx!</h1>\n'
const WWW_PAGE = 'served from /srv/www\n'
const LOGIN = { name: 'me', password: 'walk-through-secret' }

/** The lines of README.md's "Images and containers" block: each command and what its comment claims. */
function walkThrough (): Array<{ command: string, claim: string }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Images and containers'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  return block.split('\n').filter(l => l.trim() !== '').map(line => {
    const m = /^(.*?)\s{2,}#\s(.*)$/.exec(line)
    return m === null ? { command: line.trim(), claim: '' } : { command: m[1].trim(), claim: m[2] }
  })
}

// The README's own words, read at test time, run through sh on alice (a node in a network namespace of its own,
// peered with emily in another); docker.io is mirrored to a local registry holding fixture nginx, busybox and redis.
describe('the README\'s container walk-through works as written', () => {
  let net: TestNet
  let registry: TestRegistry
  const inside: Array<{ host: string, stop: () => void }> = []
  let alice: TestNode
  let emily: TestNode
  let cwd: string
  let madeSrv: string | undefined
  beforeAll(async () => {
    net = TestNet.create(['alice', 'emily'])
    registry = await startRegistry()
    await pushImage(registry.host, 'library/nginx', 'latest', [await nginxLayer(NGINX_PAGE)], { config: { Cmd: ['/usr/sbin/nginx'], StopSignal: 'SIGQUIT' } })
    await pushImage(registry.host, 'library/busybox', 'latest', [await busyboxLayer()])
    await pushRedisLike(registry.host, 'library/redis')
    for (const name of ['alice', 'emily']) inside.push(await serveInside(registry, net.ns(name)))
    inside.push(await startRegistryInside(net.ns('alice'), 5000, LOGIN))
    emily = await startNode('emily@example.org', ['--listen', `/ip4/${net.addr('emily')}/tcp/4810`], net.ns('emily'))
    alice = await startNode('alice@example.org', ['--listen', `/ip4/${net.addr('alice')}/tcp/4810`], net.ns('alice'))
    for (const [node, mirror] of [[alice, inside[0]], [emily, inside[1]]] as const) {
      writeFileSync(join(node.data, 'registries.json'), JSON.stringify({ mirrors: { 'docker.io': [`http://${mirror.host}`] } }))
    }
    expect((await alice.cli(['proxy', (await emily.cli(['proxy'])).stdout.trim()])).code).toBe(0)
    // `aurae` on PATH as `npm run link-bins` puts it, and what the lines read from the current directory and /srv/www.
    cwd = mkdtempSync(join(tmpdir(), 'aurae-walk-'))
    mkdirSync(join(cwd, 'bin'))
    symlinkSync(AURAE, join(cwd, 'bin', 'aurae'))
    writeFileSync(join(cwd, 'password.txt'), `${LOGIN.password}\n`)
    mkdirSync(join(cwd, 'dir'))
    for (const f of ['a.txt', 'b.txt']) writeFileSync(join(cwd, 'dir', f), `${f}\n`)
    if (!existsSync('/srv/www')) {
      madeSrv = existsSync('/srv') ? '/srv/www' : '/srv'
      mkdirSync('/srv/www', { recursive: true })
      writeFileSync('/srv/www/index.html', WWW_PAGE)
    }
  })
  afterAll(async () => {
    await alice?.stop()
    await emily?.stop()
    for (const r of inside) r.stop()
    registry?.stop()
    net?.destroy()
    if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true })
    if (madeSrv !== undefined) rmSync(madeSrv, { recursive: true, force: true })
  })

  /** Runs a line as a user types it, on alice's host; `tty` runs it under a terminal (script(1)) fed `input`. */
  const sh = async (line: string, tty = false, input = ''): Promise<Result> => {
    const env = { ...process.env, PATH: `${join(cwd, 'bin')}:${process.env.PATH ?? ''}`, AURAE_SOCK: alice.sock, NO_COLOR: '1' }
    const argv = tty ? ['script', '-qec', `sh -c '${line.replaceAll("'", "'\\''")}'`, '/dev/null'] : ['sh', '-c', line]
    return await run('nsenter', [`--net=/run/netns/${net.ns('alice')}`, ...argv], { cwd, env, input })
  }
  const emilysPage = async (): Promise<string | undefined> => {
    const res = await sh(`curl -sf http://${net.addr('emily')}:8080/`)
    return res.code === 0 ? res.stdout : undefined
  }
  const images = async (): Promise<string[]> => JSON.parse((await alice.cli(['images', '--json'])).stdout).map((i: any) => i.name)

  /** What each line's comment claims, checked; keyed by the line as the README has it, so a changed line fails here. */
  const checks: Record<string, (res: Result, line: string) => Promise<void>> = {
    'aurae run nginx -p 8080:80 -d': async res => {
      expect(res).toEqual({ code: 0, stdout: 'nginx\n', stderr: '' })
      expect(await images()).toContain('docker.io/library/nginx:latest')
    },
    'curl http://127.0.0.1:8080/': async (_, line) => {
      expect(await until('nginx to answer', async () => { const r = await sh(line); return r.code === 0 && r.stdout })).toBe(NGINX_PAGE)
    },
    'aurae run nginx@emily -p 8080:80 -d': async res => {
      expect(res).toEqual({ code: 0, stdout: 'nginx\n', stderr: '' })
      expect(await workload(emily, 'nginx')).toMatchObject({ kind: 'container', image: 'docker.io/library/nginx:latest' })
      expect(await until('nginx on emily to answer at emily\'s address', emilysPage)).toBe(NGINX_PAGE)
    },
    'aurae pull busybox': async res => {
      expect(res.code, res.stderr).toBe(0)
      expect(await images()).toContain('docker.io/library/busybox:latest')
    },
    'aurae images': async res => {
      expect(res.code).toBe(0)
      expect(res.stdout).toMatch(/^REPOSITORY +TAG +DIGEST +SIZE +CREATED\n/)
      expect(res.stdout).toMatch(/busybox +latest +sha256:/)
    },
    'aurae run busybox -- sh -c \'echo $HOSTNAME; exit 4\'': async res => {
      expect(res).toMatchObject({ code: 4, stderr: '' })
      expect(res.stdout.split('\n')).toHaveLength(2)
    },
    'aurae run busybox@emily --name job -- uname -n': async (res, line) => {
      expect(res).toEqual({ code: 0, stdout: 'job\n', stderr: '' })
      expect(await workload(emily, 'job')).toMatchObject({ state: 'exited', exitCode: 0 })
      expect(await workload(alice, 'job')).toBeUndefined()
      // The name is the peer's now: taking it again says how to free it there.
      expect(await sh(line)).toEqual({ code: 125, stdout: '', stderr: 'aurae: a workload named job already exists (remove it with: aurae rm job@emily)\n' })
    },
    'aurae run -it --rm busybox -- sh': async (_, line) => {
      const res = await sh(line, true, 'echo term=$TERM; exit 6\n')
      expect(res.code).toBe(6)
      expect(res.stdout).toMatch(/term=xterm\r+\n/)
      // --rm: a one-off under a free name, forgotten after.
      expect(JSON.parse((await alice.cli(['ps', '-a', '--json'])).stdout).map((w: any) => w.name).sort()).toEqual(['busybox', 'nginx'])
    },
    'tar c dir | aurae run -i busybox -- tar t': async res => {
      expect(res).toMatchObject({ code: 0, stderr: 'aurae: busybox is taken; running as busybox-2\n' })
      expect(res.stdout.split('\n').sort()).toEqual(['', 'dir/', 'dir/a.txt', 'dir/b.txt'])
    },
    'aurae run busybox -d --name web -p 8081:80 -v /srv/www:/www:ro --memory 64M -- httpd -f -p 80 -h /www': async res => {
      expect(res).toEqual({ code: 0, stdout: 'web\n', stderr: '' })
      expect(await workload(alice, 'web')).toMatchObject({ state: 'running', limits: { memoryBytes: 64 * 1024 * 1024 } })
    },
    'curl http://127.0.0.1:8081/': async (_, line) => {
      expect(await until('web to answer', async () => { const r = await sh(line); return r.code === 0 && r.stdout })).toBe(readFileSync('/srv/www/index.html', 'utf8'))
    },
    'aurae ps ; aurae logs web ; aurae stop web ; aurae rm web': async res => {
      expect(res.code, res.stderr).toBe(0)
      expect(res.stdout).toMatch(/^NAME +KIND +IMAGE +STATE +PID +EXIT +UPTIME +RESTARTS +PORTS\n/)
      expect(res.stdout).toMatch(/\nweb +container +\S*busybox\S* +running .*8081->80/)
      expect(await workload(alice, 'web')).toBeUndefined()
    },
    'aurae rmi busybox ; aurae image prune': async res => {
      // The attached runs above left containers named busybox and busybox-2: their image stays, and prune keeps what it uses.
      expect(res.code).toBe(0)
      expect(res.stderr).toMatch(/^aurae: image docker\.io\/library\/busybox:latest is used by workloads busybox, busybox-2; remove them first, or force with: aurae rmi -f busybox\nremoved \d+ blobs? and \d+ unpacked roots?/)
      expect(await images()).toContain('docker.io/library/busybox:latest')
    },
    'aurae system df': async res => {
      expect(res.code).toBe(0)
      expect(res.stdout).toMatch(/^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +2 +2 .*\nUnpacked roots +2 +2 .*\nContainers +3 +1 .*\nLogs +/)
    },
    'aurae run redis -d ; aurae run redis -d': async res => {
      expect(res).toEqual({ code: 0, stdout: 'redis\nredis-2\n', stderr: '' })
      const once = await sh('aurae run redis --rm -- id -un')
      expect(once).toEqual({ code: 0, stdout: 'redis\n', stderr: 'aurae: redis is taken; running as redis-3\n' })
      expect(await workload(alice, 'redis-3')).toBeUndefined()
    },
    'aurae exec redis -- redis-cli ping': async res => {
      expect(res).toEqual({ code: 0, stdout: 'PONG\n', stderr: '' })
    },
    'aurae exec -it redis -- sh': async (_, line) => {
      const res = await sh(line, true, 'id -un; tty; exit 3\n')
      expect(res.code).toBe(3)
      expect(res.stdout).toMatch(/redis\r\n\/dev\/pts\/\d+\r\n/)
    },
    'aurae run redis@emily -d ; aurae exec -it redis@emily -- sh': async (_, line) => {
      const res = await sh(line, true, 'id -un; tty; exit 5\n')
      expect(res.code).toBe(5)
      // The name run -d printed, then the shell's answers from a terminal on emily.
      expect(res.stdout).toMatch(/\bredis\r\n[\s\S]*\bredis\r+\n\/dev\/pts\/\d+\r+\n/)
      expect(await workload(emily, 'redis')).toMatchObject({ state: 'running', image: 'docker.io/library/redis:latest' })
    },
    'aurae exec -d redis -- redis-cli bgsave': async res => {
      expect(res).toEqual({ code: 0, stdout: '', stderr: '' })
    },
    'aurae restart redis ; aurae stop redis ; aurae start redis': async res => {
      expect(res.code, res.stderr).toBe(0)
      expect(await workload(alice, 'redis')).toMatchObject({ state: 'running', image: 'docker.io/library/redis:latest' })
      expect((await sh('aurae exec redis -- redis-cli ping')).stdout).toBe('PONG\n')
    },
    'aurae inspect redis': async res => {
      expect(res.code).toBe(0)
      const [record] = JSON.parse(res.stdout)
      expect(record).toMatchObject({ name: 'redis', pid: (await workload(alice, 'redis')).pid, spec: { container: { image: 'docker.io/library/redis:latest' } } })
      expect(record.monitorPid).toBeGreaterThan(0)
      // run, restart, stop and start, in order.
      expect(record.history.map((h: any) => h.state)).toEqual(['created', 'running', 'exited', 'created', 'running', 'exited', 'created', 'running'])
    },
    'aurae login localhost:5000 -u me --password-stdin < password.txt': async (res, line) => {
      expect(res.code, res.stderr).toBe(0)
      expect(JSON.parse(readFileSync(join(alice.data, 'auth.json'), 'utf8'))).toMatchObject({ 'localhost:5000': { username: 'me' } })
      writeFileSync(join(cwd, 'password.txt'), 'wrong\n')
      const wrong = await sh(line)
      expect(wrong.code).toBe(1)
      expect(wrong.stderr.split('\n')).toHaveLength(2)
      expect(JSON.parse(readFileSync(join(alice.data, 'auth.json'), 'utf8'))['localhost:5000'].password).toBe(LOGIN.password)
    }
  }

  it('runs every line of the block, each doing what its comment says', async () => {
    const lines = walkThrough()
    expect(lines.map(l => l.command)).toEqual(Object.keys(checks))
    for (const { command } of lines) {
      const res = command.includes(' -it ') ? { code: 0, stdout: '', stderr: '' } : await sh(command)
      try {
        await checks[command](res, command)
      } catch (err) {
        throw new Error(`README line \`${command}\` does not do what it says (exit ${res.code}, stdout ${JSON.stringify(res.stdout)}, stderr ${JSON.stringify(res.stderr)}): ${String(err)}`)
      }
    }
  }, 180_000)
})
