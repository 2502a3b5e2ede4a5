// The guest's kernel: Debian's cloud kernel (linux-image-cloud-amd64), fetched from the package archive with
// apt-get and kept in a cache directory with the modules a guest loads from its initramfs. The cloud kernel boots
// in 2–4 s under software emulation; it has no 9p and no virtio-mmio command-line devices (so q35 with virtio-pci),
// and its virtio, virtiofs, console, ACPI button and overlay drivers are modules.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { FailedPreconditionError } from '../../errors.ts'

const run = promisify(execFile)

/** The metapackage that names the current cloud kernel. */
const META = 'linux-image-cloud-amd64'

/**
 * The modules a guest needs, by name; their dependencies come along. virtio-pci and its rings carry every device;
 * virtiofs the host's shares; virtio_console the channel to the host's auraed; button and evdev the ACPI power
 * button that `system_powerdown` presses; overlay an image's writable layer; virtio_net a VM's network.
 */
export const GUEST_MODULES = ['virtio_pci', 'virtiofs', 'virtio_console', 'button', 'evdev', 'overlay', 'virtio_net']

/** What a guest that boots from a root drive loads besides (aurae-init loads them only then): virtio disks (ext4 is built in). */
export const BOOT_MODULES = ['virtio_blk']

/** The cache's note of the modules it holds: a kernel cached with other ones is fetched again. */
const WANTED = `${GUEST_MODULES.join('\n')}\n--\n${BOOT_MODULES.join('\n')}\n`

export interface GuestKernel {
  version: string
  vmlinuz: string
  /** The modules' files, in an order each can be loaded in (its dependencies before it). */
  modules: string[]
  /** The modules only a boot from a drive loads, in order, after `modules`. */
  bootModules: string[]
}

/** What a module says it depends on (its modinfo's `depends=`). */
export function dependsOf (ko: Buffer): string[] {
  const at = ko.indexOf('\0depends=')
  if (at < 0) return []
  const end = ko.indexOf(0, at + 1)
  return ko.subarray(at + 9, end).toString('latin1').split(',').filter(Boolean)
}

/** Every `.ko` under `dir`, by module name (a module's name has `_` where its file may have `-`). */
function modulesUnder (dir: string): Map<string, string> {
  const found = new Map<string, string>()
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name))
      else if (e.name.endsWith('.ko')) found.set(e.name.slice(0, -3).replaceAll('-', '_'), join(d, e.name))
    }
  }
  walk(dir)
  return found
}

/** `wanted` and what they depend on, each after its dependencies; a module missing from `files` is refused. */
export function loadOrder (wanted: string[], files: Map<string, string>, read: (file: string) => Buffer): string[] {
  const order: string[] = []
  const visiting = new Set<string>()
  const visit = (name: string): void => {
    if (order.includes(name)) return
    if (visiting.has(name)) throw new Error(`modules depend on each other in a cycle through ${name}`)
    const file = files.get(name)
    if (file === undefined) throw new FailedPreconditionError(`the guest kernel has no module ${name}`)
    visiting.add(name)
    for (const dep of dependsOf(read(file))) visit(dep)
    visiting.delete(name)
    order.push(name)
  }
  for (const name of wanted) visit(name)
  return order
}

/** The cached kernel in `dir`, if one is complete there, with the modules asked for now. */
function cached (dir: string): GuestKernel | undefined {
  try {
    const version = readFileSync(join(dir, 'current'), 'utf8').trim()
    const base = join(dir, version)
    if (readFileSync(join(base, 'modules.wanted'), 'utf8') !== WANTED) return undefined
    const files = (order: string): string[] => readFileSync(join(base, order), 'utf8').split('\n').filter(Boolean).map(m => join(base, 'modules', `${m}.ko`))
    const kernel = { version, vmlinuz: join(base, 'vmlinuz'), modules: files('modules.order'), bootModules: files('modules.boot-order') }
    return [kernel.vmlinuz, ...kernel.modules, ...kernel.bootModules].every(f => existsSync(f)) ? kernel : undefined
  } catch {
    return undefined
  }
}

/** The guest kernel, fetched into `dir` the first time. */
export async function guestKernel (dir: string): Promise<GuestKernel> {
  const have = cached(dir)
  if (have !== undefined) return have
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const work = await mkdtemp(join(dir, 'fetch-'))
  try {
    let pkg: string | undefined
    try {
      const { stdout } = await run('apt-cache', ['depends', META])
      pkg = /Depends: (linux-image-\S+)/.exec(stdout)?.[1]
    } catch {}
    if (pkg === undefined) throw new FailedPreconditionError(`cannot find Debian's cloud kernel (${META}) in apt's package lists: run apt-get update`)
    try {
      await run('apt-get', ['download', '-q', pkg], { cwd: work })
    } catch (err) {
      throw new FailedPreconditionError(`cannot fetch the guest kernel ${pkg}: ${String((err as { stderr?: string }).stderr ?? err).trim().split('\n').at(-1) ?? ''}`)
    }
    const deb = readdirSync(work).find(f => f.endsWith('.deb'))
    if (deb === undefined) throw new FailedPreconditionError(`apt-get download ${pkg} left no package`)
    await run('dpkg-deb', ['-x', join(work, deb), join(work, 'x')])
    const version = readdirSync(join(work, 'x', 'lib', 'modules'))[0]
    const vmlinuz = join(work, 'x', 'boot', `vmlinuz-${version}`)
    if (version === undefined || !statSync(vmlinuz).isFile()) throw new FailedPreconditionError(`${pkg} holds no kernel`)
    const files = modulesUnder(join(work, 'x', 'lib', 'modules', version, 'kernel'))
    const order = loadOrder(GUEST_MODULES, files, f => readFileSync(f))
    const bootOrder = loadOrder(BOOT_MODULES, files, f => readFileSync(f)).filter(m => !order.includes(m))
    // Made beside the cache's current kernel, then put in place by one rename.
    const base = join(work, version)
    await mkdir(join(base, 'modules'), { recursive: true })
    await copyFile(vmlinuz, join(base, 'vmlinuz'))
    for (const m of [...order, ...bootOrder]) await copyFile(files.get(m) ?? '', join(base, 'modules', `${m}.ko`))
    await writeFile(join(base, 'modules.order'), order.join('\n') + '\n')
    await writeFile(join(base, 'modules.boot-order'), bootOrder.join('\n') + '\n')
    await writeFile(join(base, 'modules.wanted'), WANTED)
    await rm(join(dir, version), { recursive: true, force: true })
    await rename(base, join(dir, version))
    await writeFile(join(work, 'current'), version + '\n')
    await rename(join(work, 'current'), join(dir, 'current'))
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  const made = cached(dir)
  if (made === undefined) throw new FailedPreconditionError(`the guest kernel in ${dir} is incomplete`)
  return made
}

