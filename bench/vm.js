// Guests (issue 12, before `run --vm`): a raw qemu boot of Debian's cloud kernel to its first userspace line, next
// to the project's guest booting to its auraed started under aurae-init; qemu's memory for an idle 128 MB guest.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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

export async function vmBench () {
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
