// Next to Podman on the same machine: pull + first run of the same images from one local registry, and the host
// memory each running container costs (aurae's monitor against Podman's conmon).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

const AURAE = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'aurae.js')
const ROUNDS = Number(process.env.BENCH_PODMAN_ROUNDS ?? 3)
const RUNNING = 5
/** Besides /bin/busybox, a layer of Debian's /usr: a realistic image's many files. */
const USR = (process.env.BENCH_PODMAN_USR ?? 'usr/share/perl usr/lib/python3 usr/share/zoneinfo').split(' ')
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Milliseconds `cmd args` took; throws if it failed. */
function time (cmd, args) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

const rssKb = pid => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
const ppid = pid => Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])

export async function podmanBench () {
  const { startRegistry, pushImage, busyboxLayer } = await import('../test/helpers/registry.ts')
  const registry = await startRegistry()
  const dir = mkdtempSync(join(tmpdir(), 'aurae-bench-podman-'))
  const sock = join(dir, 'aurae.sock')
  const cli = (...args) => spawnSync(process.execPath, [AURAE, '--sock', sock, ...args], { encoding: 'utf8' })
  // Podman with storage of its own here, runc (crun refuses this host's cgroups), and the limits this host allows.
  const storage = ['--root', join(dir, 'podman'), '--runroot', join(dir, 'podman-run'), '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none']
  const limits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024']
  const podman = (...args) => spawnSync('podman', [...storage, ...args], { encoding: 'utf8' })
  const rows = []
  try {
    const up = cli('up', 'podbench', '--key', join(dir, 'key'), '--data', join(dir, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0')
    if (up.status !== 0) throw new Error(up.stderr)
    const usr = spawnSync('tar', ['-cf', '-', '--numeric-owner', '-C', '/', ...USR], { maxBuffer: 2 ** 30 })
    if (usr.status !== 0) throw new Error(`tar of ${USR.join(' ')} failed`)
    await pushImage(registry.host, 'small', 'latest', [await busyboxLayer()])
    await pushImage(registry.host, 'usr', 'latest', [await busyboxLayer(), usr.stdout])
    if (podman('images').status !== 0) throw new Error(`podman cannot start: ${podman('images').stderr}`)

    // Cold each round: the image and its unpacked layers go before the next.
    for (const [name, what] of [['small', 'busybox, 1 layer'], ['usr', `busybox and ${(usr.stdout.length / 1e6).toFixed(0)} MB of Debian's /usr, 2 layers`]]) {
      const image = `${registry.host}/${name}`
      const ours = []
      const theirs = []
      for (let i = 0; i < ROUNDS; i++) {
        ours.push(time(process.execPath, [AURAE, '--sock', sock, 'pull', image]) +
          time(process.execPath, [AURAE, '--sock', sock, 'run', '--rm', '--net', 'none', image, '--', 'true']))
        if (cli('rmi', image).status !== 0 || cli('image', 'prune').status !== 0) throw new Error(`aurae rmi ${image} failed`)
        theirs.push(time('podman', [...storage, 'pull', '-q', '--tls-verify=false', image]) +
          time('podman', [...storage, 'run', '--rm', '--network', 'none', ...limits, image, 'true']))
        if (podman('rmi', '-f', image).status !== 0) throw new Error(`podman rmi ${image} failed`)
      }
      const [o, p] = [median(ours), median(theirs)]
      rows.push([`pull + first run of an image (${what}; median of ${ROUNDS})`, `${o.toFixed(0)} ms`, `podman pull + run: ${p.toFixed(0)} ms`, `${(o / p).toFixed(2)}x`, '<= 1.0x'])
    }

    // What stays on the host per running container: aurae's monitor (and anything under it that is not the
    // container's own), against Podman's conmon; the runtimes have exited in both.
    const image = `${registry.host}/small`
    if (podman('pull', '-q', '--tls-verify=false', image).status !== 0 || cli('pull', image).status !== 0) throw new Error('pull failed')
    for (let i = 0; i < RUNNING; i++) {
      if (cli('run', '-d', '--net', 'none', '--name', `mem${i}`, image, '--', 'sleep', '600').status !== 0) throw new Error('aurae run -d failed')
      const started = podman('run', '-d', '--network', 'none', ...limits, '--name', `mem${i}`, image, 'sleep', '600')
      if (started.status !== 0) throw new Error(`podman run -d failed: ${started.stderr}`)
    }
    await sleep(500)
    const mains = JSON.parse(cli('ps', '--json').stdout).filter(w => w.name.startsWith('mem')).map(w => w.pid)
    const monitors = [...new Set(mains.map(ppid))]
    if (mains.length !== RUNNING || monitors.length !== RUNNING) throw new Error(`expected ${RUNNING} containers, each under a monitor of its own`)
    // Every process under a monitor other than the container's own tree (none is expected): the runtime, had it stayed.
    const children = pid => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number)
    const kept = monitors.flatMap(m => [m, ...children(m).filter(c => !mains.includes(c))])
    const ourKb = kept.reduce((sum, pid) => sum + rssKb(pid), 0) / RUNNING
    const conmons = Array.from({ length: RUNNING }, (_, i) => Number(podman('inspect', '--format', '{{.State.ConmonPid}}', `mem${i}`).stdout.trim()))
    const theirKb = conmons.reduce((sum, pid) => sum + rssKb(pid), 0) / RUNNING
    rows.push([`host memory per running container (RSS, mean of ${RUNNING} running sleep)`, `${(ourKb / 1024).toFixed(2)} MB`, `podman's conmon: ${(theirKb / 1024).toFixed(2)} MB`, `${(ourKb / theirKb).toFixed(2)}x`, '<= conmon'])
  } finally {
    cli('down')
    podman('rm', '-f', '-a', '-t', '0')
    // Podman keeps its storage's overlay directory mounted on itself, sometimes more than once.
    for (let i = 0; i < 10 && spawnSync('umount', ['-l', join(storage[1], 'overlay')]).status === 0; i++);
    registry.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}
