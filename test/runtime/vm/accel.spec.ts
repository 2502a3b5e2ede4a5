// The accelerator probe, with real qemu: KVM only when a test boot under it powers off in time.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeAccel, powerOffImage } from '../../../src/runtime/vm/accel.ts'
import { guestKernel, type GuestKernel } from '../../../src/runtime/vm/guest-kernel.ts'
import { QEMU, qemuArgs } from '../../../src/runtime/vm/qemu.ts'

describe('the accelerator probe', () => {
  let dir: string
  let kernel: GuestKernel
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-accel-'))
    kernel = await guestKernel(join(dir, 'kernel'))
  }, 120_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('boots a test guest that powers off at once (under TCG, which always works)', () => {
    writeFileSync(join(dir, 'initrd'), powerOffImage(readFileSync('/bin/busybox')))
    const res = spawnSync(QEMU, qemuArgs({ kernel: kernel.vmlinuz, initrd: join(dir, 'initrd'), memoryMb: 128, cpus: 1, accel: 'tcg', console: 'stdio' }), { encoding: 'utf8', timeout: 60_000 })
    expect(res.status).toBe(0)
    expect(res.stdout).toContain('reboot: Power down')
  }, 90_000)

  it('says TCG, and why, without a KVM device', async () => {
    expect(await probeAccel({ kernel, busybox: '/bin/busybox', tmp: dir, kvmDevice: join(dir, 'no-kvm') })).toEqual({ accel: 'tcg', reason: `no ${join(dir, 'no-kvm')}` })
  })

  it('says KVM only when a boot under it powered off in time, and otherwise why not', async () => {
    const verdict = await probeAccel({ kernel, busybox: '/bin/busybox', tmp: dir, timeoutMs: 10_000 })
    if (verdict.accel === 'kvm') expect(verdict.reason).toMatch(/^a test boot under KVM powered off in \d+ ms$/)
    else expect(verdict.reason).toMatch(/^(no \/dev\/kvm|cannot open \/dev\/kvm: .*|a test boot under KVM did not finish within 10 s \(nested KVM can hang\)|qemu cannot use KVM: .*)$/)
    // Nothing of the probe is left running.
    expect(spawnSync('pgrep', ['-f', 'accel=kvm.*kvm-probe-']).status).toBe(1)
  }, 30_000)
})
