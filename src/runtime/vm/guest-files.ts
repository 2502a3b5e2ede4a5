// What every VM of this machine boots, kept in one cache beside the nodes (Debian's kernel, fetched once; the
// initramfs built from it and what the project ships; which accelerator works), so that a VM's start only adds its
// own files to it.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FailedPreconditionError } from '../../errors.ts'
import { probeAccel, type AccelVerdict } from './accel.ts'
import { guestKernel, type GuestKernel } from './guest-kernel.ts'
import { initramfs } from './initramfs.ts'

/** Where a machine keeps what its VMs boot. */
export const VM_CACHE = '/var/cache/aurae/vm'
/** aurae-init, as npm run build made it. */
export const AURAE_INIT = fileURLToPath(new URL('../monitor/aurae-init', import.meta.url))
/** Debian's static busybox (busybox-static): the guest's first seconds. */
export const BUSYBOX = '/bin/busybox'

export interface GuestFiles {
  kernel: GuestKernel
  /** The initramfs every VM's own files are added to. */
  initrd: string
  accel: AccelVerdict
}

/** Writes `data` to `path` whole or not at all (another node may read it at the same moment). */
async function writeWhole (path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}`
  await writeFile(tmp, data, { mode: 0o600 })
  await rename(tmp, path)
}

/**
 * The accelerator for this boot of the machine: probed once (a test boot, up to 10 s when KVM hangs) and kept
 * under the boot's ID, since whether KVM works can change with a reboot and not otherwise.
 */
async function accelOf (cache: string, kernel: GuestKernel): Promise<AccelVerdict> {
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  const file = join(cache, `accel-${boot}.json`)
  try {
    return JSON.parse(await readFile(file, 'utf8')) as AccelVerdict
  } catch {}
  const verdict = await probeAccel({ kernel, busybox: BUSYBOX, tmp: cache, timeoutMs: 10_000 })
  await writeWhole(file, JSON.stringify(verdict))
  return verdict
}

let pending: Promise<GuestFiles> | undefined
let found: AccelVerdict | undefined

/** The accelerator this process's VMs use, once the first one has found out. */
export function knownAccel (): AccelVerdict | undefined {
  return found
}

/** The kernel, the shared initramfs and the accelerator, made the first time (once per process at a time). */
export async function guestFiles (cache = VM_CACHE): Promise<GuestFiles> {
  pending ??= (async () => {
    await mkdir(cache, { recursive: true, mode: 0o700 })
    const kernel = await guestKernel(join(cache, 'kernel'))
    const init = await readFile(AURAE_INIT).catch(() => undefined)
    if (init === undefined) throw new FailedPreconditionError(`${AURAE_INIT} is missing: run npm run build`)
    const busybox = await readFile(BUSYBOX).catch(() => undefined)
    if (busybox === undefined) throw new FailedPreconditionError(`VMs need a static busybox at ${BUSYBOX}: apt-get install busybox-static`)
    // Named by what it is made of: a rebuilt aurae-init or a new kernel makes a new one.
    const id = createHash('sha256').update(kernel.version).update([...kernel.modules, '', ...kernel.bootModules].join('\n')).update(init).update(busybox).digest('hex').slice(0, 16)
    const initrd = join(cache, `initrd-${id}`)
    if (!existsSync(initrd)) await writeWhole(initrd, initramfs({ kernel, init: AURAE_INIT, busybox: BUSYBOX, shares: [] }))
    found = await accelOf(cache, kernel)
    return { kernel, initrd, accel: found }
  })()
  try {
    return await pending
  } catch (err) {
    pending = undefined
    throw err
  }
}
