// A real VM (qemu, software emulation): Debian's cloud kernel and the initramfs the project builds, aurae-init as
// PID 1 running the guest's auraed from the host's checkout (virtiofs, read-only), and the ACPI power button
// pressed over QMP ending it all in order: auraed stops, aurae-init powers off, qemu exits by itself.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { guestKernel } from '../../src/runtime/vm/guest-kernel.ts'
import { auraedGuest, initramfs } from '../../src/runtime/vm/initramfs.ts'
import { QEMU, qemuArgs, qmp, serveShares } from '../../src/runtime/vm/qemu.ts'
import { isAlive, ROOT, until } from '../helpers/node.ts'

describe('a guest boots auraed under aurae-init', () => {
  it('runs auraed as PID 1\'s one child and, when the power button is pressed, stops it and powers off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-guest-'))
    const children: Array<ReturnType<typeof spawn>> = []
    try {
      const kernel = await guestKernel(join(dir, 'kernel'))
      const initrd = join(dir, 'initrd')
      const guest = auraedGuest(kernel, ROOT)
      writeFileSync(initrd, initramfs(guest.options))
      const served = await serveShares(guest.shares, dir)
      children.push(...served.daemons)
      const shares = served.sockets
      const serial = join(dir, 'console')
      const qmpSocket = join(dir, 'qmp.sock')
      const qemu = spawn(QEMU, qemuArgs({ kernel: kernel.vmlinuz, initrd, memoryMb: 1024, cpus: 2, accel: 'tcg', shares, console: serial, qmp: qmpSocket }), { stdio: ['ignore', 'ignore', 'pipe'] })
      children.push(qemu)
      let qemuSaid = ''
      qemu.stderr?.on('data', d => { qemuSaid += String(d) })
      const exited = new Promise<number | null>(resolve => qemu.on('exit', code => resolve(code)))
      const said = (): string => existsSync(serial) ? readFileSync(serial, 'utf8') : ''
      await until('the guest\'s auraed to start', () => said().includes('"msg":"auraed started"'), 90_000)
      expect(said()).not.toContain('cannot mount')
      expect(said()).not.toContain('cannot load module')
      await qmp(qmpSocket, 'system_powerdown')
      expect(await exited).toBe(0)
      expect(qemuSaid).toBe('')
      const log = said()
      expect(log).toContain('"msg":"auraed stopping","stopWorkloads":true')
      expect(log).toContain('"msg":"auraed stopped"')
      expect(log.indexOf('"msg":"auraed stopped"')).toBeLessThan(log.indexOf('reboot: Power down'))
    } finally {
      for (const c of children) if (c.pid !== undefined && isAlive(c.pid)) c.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  }, 180_000)
})
