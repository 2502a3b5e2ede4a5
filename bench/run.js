#!/usr/bin/env node
// Benchmarks for the node: each number next to a baseline measured in the same run, printed as a table.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { credentials } from '@grpc/grpc-js'
import { WorkloadServiceClient } from '../dist/gen/aurae/workloads/v0/workloads.js'
import { MeshServiceClient } from '../dist/gen/aurae/mesh/v0/mesh.js'
import { natBench } from './nat.js'
import { unpackBench } from './unpack.js'
import { execBench } from './exec.js'
import { cellsBench } from './cells.js'
import { auraescriptBench } from './auraescript.js'
import { podmanBench } from './podman.js'
import { vmBench } from './vm.js'
import { tlsBench } from './tls.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const AURAE = join(root, 'bin', 'aurae.js')
const AURAED = join(root, 'bin', 'auraed.js')
const dir = mkdtempSync(join(tmpdir(), 'aurae-bench-'))
const sock = join(dir, 'aurae.sock')
const cliArgs = ['--sock', sock]
const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']
const N_EXEC = 20
const N_START = Number(process.env.BENCH_WORKLOADS ?? 500)

const time = (cmd, args) => {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rssMb = pid => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024
const aurae = (...args) => spawnSync(process.execPath, [AURAE, ...cliArgs, ...args], { encoding: 'utf8' })

/** Two nodes on loopback: remote exec next to local exec, and the time peering takes. */
function meshBench () {
  const node = name => {
    const s = join(dir, `${name}.sock`)
    const cli = (...args) => spawnSync(process.execPath, [AURAE, '--sock', s, ...args], { encoding: 'utf8' })
    const up = cli('up', name, '--key', join(dir, `${name}.key`), '--data', join(dir, name), ...LISTEN)
    if (up.status !== 0) throw new Error(up.stderr)
    return { sock: s, cli, timed: (...args) => time(process.execPath, [AURAE, '--sock', s, ...args]) }
  }
  const alice = node('alice')
  const emily = node('emily')
  const peerMs = []
  for (let i = 0; i < 5; i++) {
    const token = emily.cli('proxy').stdout.trim()
    peerMs.push(alice.timed('proxy', token))
    const peers = JSON.parse(emily.cli('peers', '--json').stdout)
    if (peers.length !== 1) throw new Error('emily does not trust alice after proxy returned')
    if (i < 4) alice.cli('unpeer', 'emily')
  }
  alice.timed('exec', 'warm@emily', '--', 'true')
  const remote = []
  const local = []
  for (let i = 0; i < N_EXEC; i++) {
    local.push(alice.timed('exec', '--', 'true'))
    remote.push(alice.timed('exec', '@emily', '--', 'true'))
  }
  const r = median(remote)
  const l = median(local)
  const rss = rssMb(JSON.parse(alice.cli('status', '--json').stdout).pid)
  alice.cli('down')
  emily.cli('down')
  return [
    ['exec @emily -- true, warm (median of 20)', `${r.toFixed(1)} ms`, `local exec: ${l.toFixed(1)} ms`, `+${(r - l).toFixed(1)} ms`, '<= +15 ms'],
    ['aurae proxy <token> until both trust (median of 5)', `${median(peerMs).toFixed(0)} ms`, '', '', '<= 500 ms'],
    ['auraed RSS with the mesh, one peer', `${rss.toFixed(1)} MB`, '', '', '<= 150 MB']
  ]
}

/** A mesh of 20 nodes on loopback joined through the first: how long resolving a name takes. */
async function dhtBench () {
  const N = 20
  const nodes = []
  for (let i = 0; i < N; i++) {
    const s = join(dir, `dht${i}.sock`)
    const boot = i === 0 ? [] : ['--bootstrap', nodes[0].addr]
    const up = spawnSync(process.execPath, [AURAE, '--sock', s, 'up', `n${i}`, '--key', join(dir, `dht${i}.key`), '--data', join(dir, `dht${i}`), ...LISTEN, ...boot], { encoding: 'utf8' })
    if (up.status !== 0) throw new Error(up.stderr)
    const status = JSON.parse(spawnSync(process.execPath, [AURAE, '--sock', s, 'status', '--json'], { encoding: 'utf8' }).stdout)
    nodes.push({ sock: s, addr: status.mesh.addrs[0] })
  }
  const client = new MeshServiceClient(`unix:${nodes[0].sock}`, credentials.createInsecure())
  const resolveMs = name => new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    client.resolve({ name }, err => err === null ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(err))
  })
  // Let every node publish first: wait until each name resolves once.
  const deadline = Date.now() + 60_000
  for (let i = 1; i < N; i++) {
    while (await resolveMs(`n${i}`).then(() => false, () => true)) {
      if (Date.now() > deadline) throw new Error(`n${i} never became resolvable`)
      await sleep(200)
    }
  }
  const times = []
  for (let round = 0; round < 3; round++) for (let i = 1; i < N; i++) times.push(await resolveMs(`n${i}`))
  times.sort((a, b) => a - b)
  client.close()
  for (const n of nodes) spawnSync(process.execPath, [AURAE, '--sock', n.sock, 'down'])
  const pct = p => times[Math.min(times.length - 1, Math.floor(p * times.length))]
  return [[`resolve a name, mesh of ${N} nodes (${times.length} lookups)`, `p50 ${pct(0.5).toFixed(1)} ms, p95 ${pct(0.95).toFixed(1)} ms`, '', '', 'p95 <= 500 ms']]
}

/** Containers: a cached run next to the OCI runtime alone, 50 and 100 at once (pulls are next to Podman's: podman.js). */
async function containerBench () {
  const { startRegistry, pushImage, busyboxLayer } = await import('../test/helpers/registry.ts')
  const registry = await startRegistry()
  const s = join(dir, 'ct.sock')
  const cli = (...args) => spawnSync(process.execPath, [AURAE, '--sock', s, ...args], { encoding: 'utf8' })
  const up = cli('up', 'ct', '--key', join(dir, 'ct.key'), '--data', join(dir, 'ct'), ...LISTEN)
  if (up.status !== 0) throw new Error(up.stderr)
  const rows = []
  try {
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer()])
    const image = `${registry.host}/busybox`
    if (cli('pull', image).status !== 0) throw new Error('pull failed')

    // The same container through the OCI runtime alone: an unpacked bundle, run in the foreground.
    const bundle = join(dir, 'bundle')
    const root = join(bundle, 'rootfs')
    spawnSync('mkdir', ['-p', join(root, 'bin')])
    spawnSync('cp', ['/bin/busybox', join(root, 'bin', 'busybox')])
    spawnSync('ln', ['-s', 'busybox', join(root, 'bin', 'true')])
    const runtime = spawnSync('sh', ['-c', 'grep -q . /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null && echo runc || (command -v crun >/dev/null && echo crun || echo runc)'], { encoding: 'utf8' }).stdout.trim()
    spawnSync(runtime, ['spec'], { cwd: bundle })
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'))
    config.process.args = ['/bin/true']
    config.process.terminal = false
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config))
    const ours = []
    const bare = []
    for (let i = 0; i < N_EXEC; i++) {
      bare.push(time(runtime, ['--root', join(dir, 'oci-bench'), 'run', '--bundle', bundle, `bench-${i}`]))
      ours.push(time(process.execPath, [AURAE, '--sock', s, 'run', '--rm', '--net', 'none', '--name', `b${i}`, image, '--', 'true']))
    }
    const o = median(ours)
    const b = median(bare)
    rows.push(['aurae run --rm --net none busybox -- true, cached (median of 20)', `${o.toFixed(1)} ms`, `${runtime} run of a bundle: ${b.toFixed(1)} ms`, `+${(o - b).toFixed(1)} ms`, '<= +60 ms'])

    // 50 containers at once through the API.
    const client = new WorkloadServiceClient(`unix:${s}`, credentials.createInsecure())
    const startOne = i => new Promise((resolve, reject) => {
      const st = client.run({ spec: { name: `c${i}`, restart: 'no', cell: '', container: { image, entrypoint: [], replaceEntrypoint: false, user: '', network: 'none', volumes: [], ports: [], seccomp: '', command: ['sleep', '300'], env: {}, workdir: '', stopSignal: '' } }, detach: true })
      st.on('data', m => { if (m.started?.state !== 'running') reject(new Error(`c${i}: ${m.started?.error}`)) })
      st.on('error', reject)
      st.on('end', resolve)
    })
    const t0 = process.hrtime.bigint()
    await Promise.all(Array.from({ length: 50 }, (_, i) => startOne(i)))
    rows.push(['50 containers started at once (API)', `${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`, '', '', ''])

    // 100 containers running: one `stats` reading (its CPU % spans the 1 s between two samples).
    await Promise.all(Array.from({ length: 50 }, (_, i) => startOne(50 + i)))
    const statsMs = []
    for (let i = 0; i < 5; i++) {
      statsMs.push(time(process.execPath, [AURAE, '--sock', s, 'stats', '--no-stream']))
    }
    const statsRows = cli('stats', '--no-stream', '--json')
    if (statsRows.status !== 0 || JSON.parse(statsRows.stdout).length !== 100) throw new Error(`stats failed: ${statsRows.stderr}`)
    rows.push(['aurae stats --no-stream, 100 containers (median of 5; 1 s of it is the sampling window)', `${median(statsMs).toFixed(0)} ms`, '', '', ''])
    client.close()
  } finally {
    cli('down')
    registry.stop()
  }
  return rows
}

/** The node alone: exec round trip, 500 starts, RSS, down. */
async function nodeBench () {
  const up = aurae('up', 'bench', '--key', join(dir, 'key'), '--data', join(dir, 'data'), ...LISTEN)
  if (up.status !== 0) throw new Error(up.stderr)
  const daemonPid = JSON.parse(aurae('status', '--json').stdout).pid
  const rows = []

  // 1. exec round trip vs bare node start, interleaved so both see the same machine state.
  time(process.execPath, [AURAE, ...cliArgs, 'exec', '--', 'true'])
  const execMs = []
  const nodeMs = []
  for (let i = 0; i < N_EXEC; i++) {
    nodeMs.push(time(process.execPath, ['-e', '0']))
    execMs.push(time(process.execPath, [AURAE, ...cliArgs, 'exec', '--', 'true']))
  }
  const e = median(execMs)
  const n = median(nodeMs)
  rows.push(['aurae exec -- true (median of 20)', `${e.toFixed(1)} ms`, `node -e 0: ${n.toFixed(1)} ms`, `${(e / n).toFixed(2)}x`, '<= 3x'])

  await sleep(500)
  const idle = rssMb(daemonPid)

  // 2. 500 plain spawns from one Node process, until every child has started.
  const t0 = process.hrtime.bigint()
  const children = await Promise.all(Array.from({ length: N_START }, () => new Promise((resolve, reject) => {
    const c = spawn('sleep', ['300'], { stdio: 'ignore' })
    c.once('spawn', () => resolve(c))
    c.once('error', reject)
  })))
  const plainMs = Number(process.hrtime.bigint() - t0) / 1e6
  for (const c of children) c.kill('SIGKILL')

  // 3. 500 detached executables through the API, until every one is running.
  const client = new WorkloadServiceClient(`unix:${sock}`, credentials.createInsecure())
  const startOne = i => new Promise((resolve, reject) => {
    const s = client.run({ spec: { name: `w${i}`, executable: { command: ['sleep', '300'], env: {}, workdir: '', volumes: [] }, restart: 'no', cell: '' }, detach: true })
    s.on('data', m => { if (m.started?.state !== 'running') reject(new Error(`w${i} is ${m.started?.state}: ${m.started?.error}`)) })
    s.on('error', reject)
    s.on('end', resolve)
  })
  const t1 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: N_START }, (_, i) => startOne(i)))
  const apiMs = Number(process.hrtime.bigint() - t1) / 1e6
  rows.push([`start ${N_START} detached executables (API)`, `${apiMs.toFixed(0)} ms`, `${N_START} plain spawns: ${plainMs.toFixed(0)} ms`, `${(apiMs / plainMs).toFixed(2)}x`, '<= 2x'])

  await sleep(1000)
  const busy = rssMb(daemonPid)
  rows.push(['auraed RSS idle', `${idle.toFixed(1)} MB`, '', '', '<= 120 MB'])
  rows.push([`auraed RSS with ${N_START} running`, `${busy.toFixed(1)} MB`, '', '', '<= 200 MB'])

  const psMs = []
  for (let i = 0; i < 5; i++) psMs.push(time(process.execPath, [AURAE, ...cliArgs, 'ps', '--json']))
  rows.push([`aurae ps --json with ${N_START} workloads (median of 5)`, `${median(psMs).toFixed(0)} ms`, '', '', ''])
  client.close()

  const t2 = process.hrtime.bigint()
  const down = aurae('down')
  if (down.status !== 0) throw new Error(down.stderr)
  rows.push([`aurae down stopping ${N_START} workloads`, `${(Number(process.hrtime.bigint() - t2) / 1e6).toFixed(0)} ms`, '', '', ''])

  // 6. auraed's own start, from spawn until its socket is there (a fresh node, no `up`), next to Node's.
  const startMs = []
  const bareMs = []
  for (let i = 0; i < 5; i++) {
    bareMs.push(time(process.execPath, ['-e', '0']))
    const d = mkdtempSync(join(tmpdir(), 'aurae-bench-start-'))
    const t = process.hrtime.bigint()
    const c = spawn(process.execPath, [AURAED, '--sock', join(d, 's'), '--data', join(d, 'data'), '--key', join(d, 'k'), ...LISTEN], { stdio: 'ignore' })
    while (!existsSync(join(d, 's'))) {
      if (c.exitCode !== null) throw new Error(`auraed exited ${c.exitCode} before it listened`)
      await sleep(2)
    }
    startMs.push(Number(process.hrtime.bigint() - t) / 1e6)
    const gone = new Promise(resolve => c.once('exit', resolve))
    c.kill('SIGTERM')
    await gone
    rmSync(d, { recursive: true, force: true })
  }
  const [st, bn] = [median(startMs), median(bareMs)]
  rows.push(['auraed start until its socket is there (median of 5)', `${st.toFixed(0)} ms`, `node -e 0: ${bn.toFixed(0)} ms`, `${(st / bn).toFixed(2)}x`, ''])
  return rows
}

/** Attached output: every line and byte through `aurae exec`, next to `podman run` of the same and the plain pipe. */
async function outputBench () {
  const { Layout, layerTar } = await import('../test/helpers/oci-layout.ts')
  const s = join(dir, 'out.sock')
  const up = spawnSync(process.execPath, [AURAE, '--sock', s, 'up', 'out', '--key', join(dir, 'out.key'), '--data', join(dir, 'out'), ...LISTEN], { encoding: 'utf8' })
  if (up.status !== 0) throw new Error(up.stderr)
  // Podman with storage of its own in the temp dir, runc (crun refuses this host's cgroups) and a
  // busybox image made here from Debian's busybox-static, as the tests make theirs.
  const storage = ['--root', join(dir, 'podman'), '--runroot', join(dir, 'podman-run'), '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none']
  const rows = []
  try {
    const layout = new Layout(join(dir, 'busybox-layout'))
    layout.writeImage('latest', [await layerTar([
      { name: 'bin/' },
      { name: 'bin/busybox', body: readFileSync('/bin/busybox'), mode: 0o755 },
      ...['sh', 'seq', 'head'].map(a => ({ name: `bin/${a}`, linkname: 'busybox' }))
    ])])
    const image = 'localhost/aurae-bench-busybox:latest'
    const copied = spawnSync('skopeo', ['copy', '-q', `oci:${layout.dir}:latest`, `containers-storage:[overlay@${storage[1]}+${storage[3]}]${image}`], { encoding: 'utf8' })
    if (copied.status !== 0) throw new Error(`cannot put the busybox image into podman's storage: ${copied.stderr}`)
    // This host's hard limits are lower than the ones podman asks runc for by default.
    const podman = `podman ${storage.join(' ')} run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 ${image}`
    const ways = { aurae: `${process.execPath} ${AURAE} --sock ${s} exec --`, podman, pipe: '' }
    const cases = [
      { what: 'seq 1 2000000 | wc -l', cmd: 'seq 1 2000000', count: 'wc -l', want: 2_000_000 },
      { what: 'head -c 500M /dev/zero | wc -c', cmd: 'head -c 524288000 /dev/zero', count: 'wc -c', want: 524_288_000 }
    ]
    for (const { what, cmd, count, want } of cases) {
      const ms = { aurae: [], podman: [], pipe: [] }
      for (let round = 0; round < 5; round++) {
        for (const [way, prefix] of Object.entries(ways)) {
          const t0 = process.hrtime.bigint()
          const r = spawnSync('sh', ['-c', `${prefix} ${cmd} | ${count}`], { encoding: 'utf8' })
          ms[way].push(Number(process.hrtime.bigint() - t0) / 1e6)
          if (Number(r.stdout.trim()) !== want) throw new Error(`${way}: ${what} gave ${r.stdout.trim()} instead of ${want}: ${r.stderr}`)
        }
      }
      const [a, p, x] = [median(ms.aurae), median(ms.podman), median(ms.pipe)]
      const pipeShare = count === 'wc -c' ? `, ${(100 * x / a).toFixed(0)}% of the pipe's throughput` : ''
      rows.push([`aurae exec -- ${what}, all delivered (median of 5)`, `${a.toFixed(0)} ms`, `podman run: ${p.toFixed(0)} ms; plain pipe: ${x.toFixed(0)} ms`, `${(a / p).toFixed(2)}x podman${pipeShare}`,
        count === 'wc -c' ? '<= 1.0x podman, >= 25% of the pipe' : '<= 1.0x podman'])
    }
  } finally {
    spawnSync(process.execPath, [AURAE, '--sock', s, 'down'])
    // Podman keeps its storage's overlay directory mounted on itself.
    spawnSync('umount', [join(storage[1], 'overlay')])
  }
  return rows
}

/** Logs: a finished million-line workload read back next to cat, and the daemon's RSS while a line of 1 GB is followed. */
async function logsBench () {
  const s = join(dir, 'logs.sock')
  const cli = (...args) => spawnSync(process.execPath, [AURAE, '--sock', s, ...args], { encoding: 'utf8' })
  // Retention for all of the 1 GB line, so that the follower's byte count depends on the daemon alone.
  const up = cli('up', 'logs', '--key', join(dir, 'logs.key'), '--data', join(dir, 'logs'), '--log-files', '60', ...LISTEN)
  if (up.status !== 0) throw new Error(up.stderr)
  const rows = []
  try {
    const N = 1_000_000
    const expected = spawnSync('seq', ['1', String(N)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout
    const file = join(dir, 'lines.txt')
    writeFileSync(file, expected)
    if (cli('exec', 'million', '-d', '--', 'seq', '1', String(N)).status !== 0) throw new Error('seq 1 1000000 failed')
    while (JSON.parse(cli('ps', '--all', '--json').stdout).find(w => w.name === 'million').state !== 'exited') await sleep(50)
    const timedOutput = (cmd, args) => {
      const t0 = process.hrtime.bigint()
      const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (r.status !== 0 || r.stdout !== expected) throw new Error(`${cmd} ${args.at(-1)} did not give back all ${N} lines`)
      return ms
    }
    const ours = []
    const bare = []
    const empty = []
    cli('exec', 'nothing', '--', 'true')
    for (let i = 0; i < 5; i++) {
      bare.push(timedOutput('cat', [file]))
      ours.push(timedOutput(process.execPath, [AURAE, '--sock', s, 'logs', 'million']))
      empty.push(time(process.execPath, [AURAE, '--sock', s, 'logs', 'nothing']))
    }
    const o = median(ours)
    const c = median(bare)
    rows.push([`aurae logs of a finished seq 1 ${N} (median of 5, all lines checked)`, `${o.toFixed(1)} ms`, `cat of the same lines: ${c.toFixed(1)} ms`, `${(o / c).toFixed(2)}x`, '<= 3x'])
    rows.push(['  of which the CLI and the call alone (aurae logs of an empty log)', `${median(empty).toFixed(1)} ms`, '', '', ''])

    const pid = JSON.parse(cli('status', '--json').stdout).pid
    await sleep(500)
    const idle = rssMb(pid)
    const SIZE = 1024 ** 3
    // Outside daemon space (the sockets' directory), which workloads cannot see.
    const gates = mkdtempSync(join(tmpdir(), 'aurae-bench-gate-'))
    const gate = join(gates, 'go')
    if (cli('exec', 'zeros', '-d', '--', 'sh', '-c', `echo ready; while [ ! -e ${gate} ]; do sleep 0.02; done; head -c ${SIZE} /dev/zero`).status !== 0) throw new Error('zeros failed')
    const follower = spawn(process.execPath, [AURAE, '--sock', s, 'logs', 'zeros', '-f'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let bytes = 0
    follower.stdout.on('data', d => { bytes += d.length })
    const exited = new Promise(resolve => follower.on('exit', resolve))
    while (bytes < 6) await sleep(20)
    writeFileSync(gate, '')
    let peak = idle
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(pid)) }, 20)
    const code = await exited
    clearInterval(sampler)
    rmSync(gates, { recursive: true, force: true })
    if (code !== 0 || bytes !== SIZE + 6) throw new Error(`the follower got ${bytes - 6} of ${SIZE} bytes (exit ${code})`)
    rows.push(['auraed RSS while logs -f follows a 1 GB line (no newline)', `+${(peak - idle).toFixed(1)} MB`, `idle: ${idle.toFixed(1)} MB`, '', '<= +50 MB'])
  } finally {
    cli('down')
  }
  return rows
}

const SECTIONS = { node: nodeBench, mesh: meshBench, dht: dhtBench, nat: natBench, containers: containerBench, logs: logsBench, output: outputBench, unpack: unpackBench, exec: execBench, cells: () => cellsBench({ dir, aurae: AURAE, listen: LISTEN }), auraescript: auraescriptBench, podman: podmanBench, vm: () => vmBench({ dir, aurae: AURAE, listen: LISTEN }), tls: () => tlsBench({ dir, aurae: AURAE, listen: LISTEN }) }

async function main () {
  // `npm run bench -- containers mesh` runs only those sections.
  const names = process.argv.slice(2)
  for (const n of names) if (!(n in SECTIONS)) throw new Error(`unknown section ${n}; one of ${Object.keys(SECTIONS).join(', ')}`)
  const rows = []
  for (const [name, section] of Object.entries(SECTIONS)) if (names.length === 0 || names.includes(name)) rows.push(...await section())

  const header = ['benchmark', 'result', 'baseline (same run)', 'ratio', 'goal']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
  const line = r => '| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |'
  const machine = `${cpus().length} x ${cpus()[0].model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}, Node ${process.versions.node}`
  const table = [line(header), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n')
  console.log(`machine: ${machine}\n\n${table}`)
  mkdirSync(join(root, 'bench', 'results'), { recursive: true })
  writeFileSync(join(root, 'bench', 'results', 'latest.md'), `machine: ${machine}\n\n${table}\n`)
}

main().catch(err => {
  console.error(`bench failed: ${err.message}`)
  aurae('down')
  process.exitCode = 1
}).finally(() => rmSync(dir, { recursive: true, force: true }))
