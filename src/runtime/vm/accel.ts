// Which accelerator guests get: KVM only when it really works. /dev/kvm can exist and open and still hang a guest
// (nested KVM on the test machines), so the probe boots one: the guest kernel with an initramfs whose /init powers
// off at once, under KVM, with a timeout. Anything short of a clean power-off within it means software emulation
// (TCG), and the verdict says why.
import { spawn } from 'node:child_process'
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { GuestKernel } from './guest-kernel.ts'
import { isDynamic } from '../../common/elf.ts'
import { busyboxImage } from './initramfs.ts'
import { QEMU, qemuArgs } from './qemu.ts'

export interface AccelVerdict {
  accel: 'kvm' | 'tcg'
  /** Why, in a few words: how long the test boot took, or what kept KVM out. */
  reason: string
}

export interface ProbeOptions {
  kernel: GuestKernel
  /** A static busybox for the test guest's /init. */
  busybox: string
  /** Where the test guest's files go for the moment of the probe. */
  tmp: string
  kvmDevice?: string
  timeoutMs?: number
}

/** The test guest: busybox, and an /init that powers off as soon as it runs. */
export function powerOffImage (busybox: Buffer): Buffer {
  return busyboxImage(busybox, '/bin/busybox poweroff -f')
}

export async function probeAccel (opts: ProbeOptions): Promise<AccelVerdict> {
  const device = opts.kvmDevice ?? '/dev/kvm'
  const timeoutMs = opts.timeoutMs ?? 15_000
  if (!existsSync(device)) return { accel: 'tcg', reason: `no ${device}` }
  try {
    accessSync(device, constants.R_OK | constants.W_OK)
  } catch (err) {
    return { accel: 'tcg', reason: `cannot open ${device}: ${(err as Error).message}` }
  }
  const busybox = readFileSync(opts.busybox)
  if (isDynamic(busybox)) return { accel: 'tcg', reason: `${opts.busybox} is not a static busybox, so KVM was not tried` }
  const dir = await mkdtemp(join(opts.tmp, 'kvm-probe-'))
  try {
    const initrd = join(dir, 'initrd')
    await writeFile(initrd, powerOffImage(busybox))
    const started = Date.now()
    const qemu = spawn(QEMU, qemuArgs({ kernel: opts.kernel.vmlinuz, initrd, memoryMb: 128, cpus: 1, accel: 'kvm' }), { stdio: ['ignore', 'ignore', 'pipe'] })
    let said = ''
    qemu.stderr.on('data', d => { said += String(d) })
    const end = await new Promise<{ code: number | null, error?: Error, late?: boolean }>(resolve => {
      const timer = setTimeout(() => {
        qemu.kill('SIGKILL')
        resolve({ code: null, late: true })
      }, timeoutMs)
      qemu.once('error', error => { clearTimeout(timer); resolve({ code: null, error }) })
      qemu.once('exit', code => { clearTimeout(timer); resolve({ code }) })
    })
    if (end.error !== undefined) return { accel: 'tcg', reason: `cannot run ${QEMU}: ${end.error.message}` }
    if (end.late === true) return { accel: 'tcg', reason: `a test boot under KVM did not finish within ${timeoutMs / 1000} s (nested KVM can hang)` }
    if (end.code !== 0) return { accel: 'tcg', reason: `qemu cannot use KVM: ${said.trim().split('\n').at(-1) ?? `exit ${end.code}`}` }
    return { accel: 'kvm', reason: `a test boot under KVM powered off in ${Date.now() - started} ms` }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
