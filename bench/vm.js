// Guests (issue 12): a raw qemu boot of Debian's cloud kernel to its first userspace line, next to `aurae run --vm
// --rm busybox -- true` through a node and to the project's guest booting to its auraed started under aurae-init;
// a nested node (a cell that is a VM) until its host reaches its auraed; qemu's memory for an idle 128 MB guest;
// ten VMs started at once.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const ROUNDS = 3
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rssMb = pid => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

/** Starts qemu and resolves with the milliseconds until `file` holds `text`; the child is returned to end it. */
async function bootUntil (args, file, text, timeoutMs = 120_000) {
  const t0 = process.hrtime.bigint()
  const qemu = spawn('qemu-system-x86_64', args, { stdio: 'ignore' })
  const deadline = Date.now() + timeoutMs
  while (!(existsSync(file) && readFileSync(file, 'utf8').includes(text))) {
    if (qemu.exitCode !== null || Date.now() > deadline) {
      qemu.kill('SIGKILL')
      throw new Error(`the guest never said ${text}: ${existsSync(file) ? readFileSync(file, 'utf8').slice(-300) : ''}`)
    }
    await sleep(5)
  }
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, qemu }
}

async function end (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGKILL')
  await gone
}

/** `aurae run --vm` through a real node: a cold run next to the raw boot, and ten at once. */
async function runVmBench ({ dir, aurae, listen }, rawMs, accel) {
  const { startRegistry, pushImage, busyboxLayer } = await import('../test/helpers/registry.ts')
  const registry = await startRegistry()
  const s = join(dir, 'vm.sock')
  const cli = (...args) => spawnSync(process.execPath, [aurae, '--sock', s, ...args], { encoding: 'utf8' })
  // Cold first: VMs boot, none is saved. The warm rows come after, on the same node with templates of its own.
  const upWith = (...flags) => {
    const up = cli('up', 'vm', '--key', join(dir, 'vm.key'), '--data', join(dir, 'vmdata'), ...listen, ...flags)
    if (up.status !== 0) throw new Error(up.stderr)
  }
  upWith('--vm-templates', 'off')
  const rows = []
  try {
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    const image = `${registry.host}/busybox`
    if (cli('pull', image).status !== 0) throw new Error('pull failed')
    // The first VM of a node finds its accelerator and builds its initramfs: not part of a cold run.
    const first = cli('run', '--vm', '--rm', image, '--', 'true')
    if (first.status !== 0) throw new Error(`run --vm failed: ${first.stderr}`)
    const ours = []
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint()
      const r = cli('run', '--vm', '--rm', image, '--', 'true')
      if (r.status !== 0) throw new Error(`run --vm failed: ${r.stderr}`)
      ours.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
    const [o, r] = [median(ours), median(rawMs)]
    rows.push([`aurae run --vm --rm busybox -- true (${accel}; median of ${ROUNDS})`, `${o.toFixed(0)} ms`, `raw qemu to the first userspace line: ${r.toFixed(0)} ms`, `${(o / r).toFixed(2)}x`, '<= 1.1x; <= 3 s'])

    // A nested node: a cell that is a VM, until the host reaches its auraed (cell allocate returns then).
    const nested = []
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint()
      const made = cli('cell', 'allocate', `nest-${i}`, '--isolation', 'vm')
      if (made.status !== 0) throw new Error(`cell allocate --isolation vm failed: ${made.stderr}`)
      nested.push(Number(process.hrtime.bigint() - t0) / 1e6)
      if (cli('cell', 'free', `nest-${i}`).status !== 0) throw new Error('cell free failed')
    }
    rows.push([`a nested node: cell allocate --isolation vm until its auraed answers its host (${accel}; median of ${ROUNDS})`, `${median(nested).toFixed(0)} ms`, '', '', ''])

    // Ten at once, until each one's workload has said it is up.
    const t0 = process.hrtime.bigint()
    const started = Array.from({ length: 10 }, (_, i) => cli('run', '--vm', '-d', '--name', `ten-${i}`, image, '--', 'sh', '-c', 'echo up; sleep 600'))
    if (started.some(x => x.status !== 0)) throw new Error(`run --vm -d failed: ${started.find(x => x.status !== 0).stderr}`)
    const deadline = Date.now() + 300_000
    while (!Array.from({ length: 10 }, (_, i) => cli('logs', `ten-${i}`).stdout).every(l => l === 'up\n')) {
      if (Date.now() > deadline) throw new Error('ten VMs did not all come up within 5 minutes')
      await sleep(50)
    }
    rows.push([`10 VMs started at once, until each workload runs (${accel})`, `${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`, '', '', ''])
    // qemu itself, not the shell that started it (whose command line names it too).
    const qemus = spawnSync('pgrep', ['-f', `^qemu-system-x86_64 .*${join(dir, 'vmdata')}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number)
    const perVm = qemus.map(rssMb)
    rows.push([`host memory per idle VM of a --memory-less run (qemu RSS, median of ${qemus.length})`, `${median(perVm).toFixed(1)} MB`, 'guest memory: 512 MB', '', ''])
    for (let i = 0; i < 10; i++) cli('rm', '-f', `ten-${i}`)

    // Warm: the first run boots and the node saves a VM of the image; the next ones are restored from it.
    cli('down')
    const templates = join(dir, 'templates')
    upWith('--vm-templates', templates)
    if (cli('run', '--vm', '--rm', image, '--', 'true').status !== 0) throw new Error('run --vm failed')
    const savedBy = Date.now() + 300_000
    while (savedVm(templates) === undefined) {
      if (Date.now() > savedBy) throw new Error('no VM of the image was saved within 5 minutes')
      await sleep(100)
    }
    const warm = []
    const answering = []
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint()
      const r = cli('run', '--vm', '--rm', image, '--', 'true')
      if (r.status !== 0) throw new Error(`warm run --vm failed: ${r.stderr}`)
      warm.push(Number(process.hrtime.bigint() - t0) / 1e6)
      // Until its guest answers an exec (aurae-init runs it in the workload's root).
      const t1 = process.hrtime.bigint()
      if (cli('run', '--vm', '-d', '--name', `warm-${i}`, image, '--', 'sleep', '600').status !== 0) throw new Error('warm run --vm -d failed')
      while (cli('exec', `warm-${i}`, '--', 'true').status !== 0) await sleep(5)
      answering.push(Number(process.hrtime.bigint() - t1) / 1e6)
      cli('rm', '-f', `warm-${i}`)
    }
    // Ten warm at once, as the cold ten above.
    const w0 = process.hrtime.bigint()
    const warmTen = Array.from({ length: 10 }, (_, i) => cli('run', '--vm', '-d', '--name', `wten-${i}`, image, '--', 'sh', '-c', 'echo up; sleep 600'))
    if (warmTen.some(x => x.status !== 0)) throw new Error(`warm run --vm -d failed: ${warmTen.find(x => x.status !== 0).stderr}`)
    const warmBy = Date.now() + 300_000
    while (!Array.from({ length: 10 }, (_, i) => cli('logs', `wten-${i}`).stdout).every(l => l === 'up\n')) {
      if (Date.now() > warmBy) throw new Error('ten warm VMs did not all come up within 5 minutes')
      await sleep(50)
    }
    const warmTenMs = Number(process.hrtime.bigint() - w0) / 1e6
    const warmBoots = JSON.parse(cli('vm', 'ls', '--json').stdout).filter(v => v.name.startsWith('wten-') && v.boot === 'warm').length
    await sleep(1000)
    const warmQemus = spawnSync('pgrep', ['-f', `^qemu-system-x86_64 .*${join(dir, 'vmdata')}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number)
    const warmRss = median(warmQemus.map(rssMb))
    for (let i = 0; i < 10; i++) cli('rm', '-f', `wten-${i}`)
    rows.push([`10 VMs started at once, warm (${warmBoots} of them restored), until each workload runs (${accel})`, `${warmTenMs.toFixed(0)} ms`, '', '', ''])
    rows.push([`host memory per idle warm VM of a --memory-less run (qemu RSS, median of ${warmQemus.length})`, `${warmRss.toFixed(1)} MB`, `booted: ${median(perVm).toFixed(1)} MB`, `${(warmRss / median(perVm)).toFixed(2)}x`, ''])
    rows.push([`warm aurae run --vm --rm busybox -- true, restored from a saved VM (${accel}; median of ${ROUNDS})`, `${median(warm).toFixed(0)} ms`, `cold, booted: ${o.toFixed(0)} ms`, `${(median(warm) / o).toFixed(2)}x`, ''])
    rows.push([`warm run --vm -d until the guest answers an exec, through the CLI (${accel}; median of ${ROUNDS})`, `${median(answering).toFixed(0)} ms`, '', '', ''])
    rows.push([`warm start alone: qemu restoring the saved VM until its guest has started its workload (${accel}; median of ${ROUNDS})`, `${median(await restoreAlone(templates, dir)).toFixed(0)} ms`, '', '', '<= 0.5 s'])
  } finally {
    cli('down')
    registry.stop()
  }
  return rows
}

/** A saved VM in a templates directory, once one is in place (not one still being written, under a .tmp- name). */
function savedVm (templates) {
  if (!existsSync(templates)) return undefined
  const name = readdirSync(templates).find(f => !f.includes('.tmp-') && existsSync(join(templates, f, 'state')))
  return name === undefined ? undefined : join(templates, name)
}

/**
 * qemu restoring a node's saved VM as the node's driver does (the same machine, ports and job port), from its start
 * until the guest says on its status port that it has started the job it was sent.
 */
async function restoreAlone (templates, dir) {
  const { savedMachine, freshIdentity, TEMPLATE_MAC } = await import('../src/runtime/vm/templates.ts')
  const { qemuArgs, vmPorts } = await import('../src/runtime/vm/qemu.ts')
  const { encodeJob, GUEST_IMAGE_ROOT } = await import('../src/runtime/vm/job.ts')
  const { VM_CACHE } = await import('../src/runtime/vm/guest-files.ts')
  const { guestKernel } = await import('../src/runtime/vm/guest-kernel.ts')
  const kernel = await guestKernel(join(VM_CACHE, 'kernel'))
  const t = savedVm(templates)
  const meta = JSON.parse(readFileSync(join(t, 'meta.json'), 'utf8'))
  const times = []
  for (let i = 0; i < ROUNDS; i++) {
    const r = join(dir, `restore-${i}`)
    mkdirSync(r)
    spawnSync('mkfifo', [join(r, 'control.in'), join(r, 'control.out'), join(r, 'jobport')])
    const job = encodeJob({ root: GUEST_IMAGE_ROOT, argv: ['sleep', '600'], env: [], workdir: '/', uid: 0, gid: 0, groups: [], binds: [], memoryBytes: 0, pids: 0, stopSignal: 15, hostname: `restore-${i}`, identity: freshIdentity(undefined) })
    const args = qemuArgs({
      ...savedMachine({ dir: t, state: join(t, 'state'), initrd: join(t, 'initrd'), disk: meta.disk }, kernel.vmlinuz, meta, meta.accel),
      incoming: join(t, 'state'),
      net: { mac: TEMPLATE_MAC },
      ports: vmPorts({ stdout: 'file,path=/dev/null', stderr: 'file,path=/dev/null', status: `file,path=${join(r, 'status')}`, control: `pipe,path=${join(r, 'control')}`, exec: `socket,path=${join(r, 'exec.sock')},server=on,wait=off`, job: `pipe,path=${join(r, 'jobport')}` })
    })
    const t0 = process.hrtime.bigint()
    const qemu = spawn('qemu-system-x86_64', args, { stdio: 'ignore' })
    const clock = `clock\0${(Date.now() / 1000).toFixed(9)}\0`
    const framed = Buffer.concat([Buffer.from(`${job.length + clock.length}\n`), job, Buffer.from(clock)])
    await import('node:fs/promises').then(async fs => await fs.writeFile(join(r, 'jobport'), framed))
    const deadline = Date.now() + 60_000
    while (!(existsSync(join(r, 'status')) && readFileSync(join(r, 'status'), 'utf8').includes('started'))) {
      if (qemu.exitCode !== null || Date.now() > deadline) {
        await end(qemu)
        throw new Error(`the restored guest did not start its job: ${existsSync(join(r, 'status')) ? readFileSync(join(r, 'status'), 'utf8') : ''}`)
      }
      await sleep(2)
    }
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    await end(qemu)
  }
  return times
}

export async function vmBench (node) {
  const { guestKernel } = await import('../src/runtime/vm/guest-kernel.ts')
  const { auraedGuest, busyboxImage, initramfs } = await import('../src/runtime/vm/initramfs.ts')
  const { qemuArgs, qmp, serveShares } = await import('../src/runtime/vm/qemu.ts')
  const { probeAccel } = await import('../src/runtime/vm/accel.ts')
  const dir = mkdtempSync(join(tmpdir(), 'aurae-bench-vm-'))
  const rows = []
  const children = []
  try {
    const kernel = await guestKernel(join(dir, 'kernel'))
    const verdict = await probeAccel({ kernel, busybox: '/bin/busybox', tmp: dir })
    const accel = verdict.accel
    rows.push(['accelerator (probe: a test boot under KVM)', accel, '', '', ''])
    const busybox = readFileSync('/bin/busybox')
    const machine = (initrd, serial, memoryMb, shares = [], qmpSocket = join(dir, 'qmp.sock')) =>
      qemuArgs({ kernel: kernel.vmlinuz, initrd, memoryMb, cpus: 1, accel, shares, console: serial, qmp: qmpSocket })

    // Raw: the same kernel, an initramfs of busybox whose /init says one line and powers off (or, for the
    // memory, sleeps).
    writeFileSync(join(dir, 'raw'), busyboxImage(busybox, '/bin/busybox echo first-userspace-line; /bin/busybox poweroff -f'))
    writeFileSync(join(dir, 'idle'), busyboxImage(busybox, '/bin/busybox echo idle; /bin/busybox sleep 1000'))
    const rawMs = []
    for (let i = 0; i < ROUNDS; i++) {
      const serial = join(dir, `raw-${i}.console`)
      const { ms, qemu } = await bootUntil(machine(join(dir, 'raw'), serial, 128), serial, 'first-userspace-line')
      rawMs.push(ms)
      await end(qemu)
    }

    // Ours: aurae-init as PID 1, the guest's auraed from the host's checkout over virtiofs, until it says it started.
    const guest = auraedGuest(kernel, ROOT)
    writeFileSync(join(dir, 'guest'), initramfs(guest.options))
    const oursMs = []
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = process.hrtime.bigint()
      const round = join(dir, `round-${i}`)
      mkdirSync(round)
      const served = await serveShares(guest.shares, round)
      children.push(...served.daemons)
      const shares = served.sockets
      const serial = join(dir, `guest-${i}.console`)
      const qmpSocket = join(dir, `qmp-${i}.sock`)
      const { qemu } = await bootUntil(machine(join(dir, 'guest'), serial, 512, shares, qmpSocket), serial, '"msg":"auraed started"')
      // From before its virtiofsds started: they are part of what a guest's start costs.
      oursMs.push(Number(process.hrtime.bigint() - t0) / 1e6)
      await qmp(qmpSocket, 'system_powerdown')
      await new Promise(resolve => qemu.exitCode !== null ? resolve() : qemu.once('exit', resolve))
    }
    const [r, o] = [median(rawMs), median(oursMs)]
    rows.push(...await runVmBench(node, rawMs, accel))
    rows.push([`guest boot to its auraed started, under aurae-init (${accel}; median of ${ROUNDS})`, `${o.toFixed(0)} ms`, `raw qemu to the first userspace line: ${r.toFixed(0)} ms`, `${(o / r).toFixed(2)}x`, ''])

    // qemu's own memory for an idle guest of 128 MB.
    const serial = join(dir, 'idle.console')
    const { qemu } = await bootUntil(machine(join(dir, 'idle'), serial, 128), serial, 'idle')
    children.push(qemu)
    await sleep(1000)
    rows.push([`host memory of an idle 128 MB guest (qemu RSS, ${accel})`, `${rssMb(qemu.pid).toFixed(1)} MB`, 'guest memory: 128 MB', '', ''])
  } finally {
    for (const c of children) await end(c)
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}
