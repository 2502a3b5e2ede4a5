// Warm starts: a VM of an image is restored from a saved VM of that image instead of booting, as Firecracker's
// snapshots and Kata's VM templates do. The first run of an image boots cold; beside it, the node boots a template
// of it once (in the background, at a low priority) as far as its guest gets without a job — modules loaded, the
// image's root mounted, its ports open — and saves it with qemu's migration to a file. Later runs of the image with
// the same memory and vCPUs start from that file (`qemu -incoming`) and get their job on a port of its own
// (aurae.job), with what makes them themselves: the host's clock, fresh entropy, their MAC, address and name.
//
// A saved VM cannot have a virtiofs share (vhost-user-fs devices do not migrate), so a template's root is the
// image's unpacked root made into an ext4 disk, read-only, which the restored VMs share; its devices are a warm
// VM's, in the same order (qemu restores devices into a machine of the same shape): the disk, a network card (on
// no network in the template: a restored VM's card gets its tap), and the ports. VMs with volumes boot cold.
//
// Templates are kept per machine, beside the kernel (guest-files.ts), named by everything their state depends on:
// the initramfs (kernel, modules, aurae-init), qemu's version, the accelerator, the image, memory and vCPUs. The
// least recently used beyond MAX_TEMPLATES are removed, and with them disks no template uses.
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { basename, dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { FailedPreconditionError, messageOf } from '../../errors.ts'
import { startTimeOf } from '../proc.ts'
import { cpio } from './initramfs.ts'
import { GUEST_IMAGE_ROOT } from './job.ts'
import { optionValue, QEMU, qemuArgs, qemuVersion, qmp, vmPorts, type GuestMachine } from './qemu.ts'
import type { GuestFiles } from './guest-files.ts'

const run = promisify(execFile)

/** How many templates a machine keeps (each is its guest's used memory on disk, about 100 MB for a small one). */
export const MAX_TEMPLATES = 16
/** The MAC a template's card is made with: a restored VM sets its own (job.ts's mac). */
export const TEMPLATE_MAC = '52:54:00:00:00:01'
/** How long a template's guest has to get ready, and its state to be saved. */
const BUILD_SECONDS = 120
/** The random bytes a restored VM's pool gets. */
const ENTROPY_BYTES = 64

/** What a template is made of, and what a VM must match to start from it. */
export interface TemplateKey {
  /** The image's config digest: its root is unpacked under it. */
  image: string
  /** The unpacked root. */
  root: string
  memoryMb: number
  cpus: number
}

/** A saved VM: its state, and the files its machine had, which a restored one must have too. */
export interface Template {
  dir: string
  state: string
  initrd: string
  disk: string
}

/** What a VM made from a template runs on: the machine less its ports, console and network. */
export function savedMachine (t: Template, kernel: string, key: TemplateKey, accel: 'kvm' | 'tcg'): GuestMachine {
  return { kernel, initrd: t.initrd, drives: [{ path: t.disk, readOnly: true }], memoryMb: key.memoryMb, cpus: key.cpus, accel }
}

/** A restored VM's identity beyond its address and name: its MAC and fresh random bytes (its clock comes at start). */
export function freshIdentity (mac: string | undefined): { mac: string, entropy: string } {
  return { mac: mac ?? randomMac(), entropy: randomBytes(ENTROPY_BYTES).toString('hex') }
}

/** A locally administered unicast MAC. */
function randomMac (): string {
  const b = randomBytes(6)
  b[0] = (b[0] & 0xfe) | 0x02
  return [...b].map(x => x.toString(16).padStart(2, '0')).join(':')
}

/** The words aurae-init's template mode reads (/etc/aurae/template): the root disk, and where to mount it. */
function templateFile (): Buffer {
  return cpio([{ path: 'etc/aurae/template', mode: 0o100600, data: Buffer.from(['device', '/dev/vda', 'root', GUEST_IMAGE_ROOT, 'fstype', 'ext4'].map(w => `${w}\0`).join('')) }])
}

/**
 * The image's root as an ext4 disk (no journal: it is only read), made once per image in `dir`. Sized by what the
 * root takes on the host's disk, with room for ext4's own blocks and an inode for each file.
 */
export async function rootDisk (root: string, image: string, dir: string): Promise<string> {
  const file = join(dir, `${image.replace(/^sha256:/, '')}.ext4`)
  if (existsSync(file)) return file
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const bytes = Number((await run('du', ['-s', '-x', '-B1', root])).stdout.split(/\s/)[0])
  const files = Number((await run('sh', ['-c', 'find "$1" -xdev | wc -l', 'sh', root])).stdout.trim())
  const tmp = `${file}.tmp-${process.pid}`
  try {
    for (const slack of [1.25, 2.5]) {
      const mb = Math.ceil((bytes * slack + files * 512) / 2 ** 20) + 16
      await rm(tmp, { force: true })
      const made = await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-m', '0', '-N', String(files + 1024), '-L', 'aurae-image', '-d', root, tmp, `${mb}M`]).then(() => true, err => {
        if (slack > 1.25) throw new FailedPreconditionError(`cannot make a disk of the image's root: ${String(err.stderr ?? err.message).trim().split('\n').at(-1) ?? ''}`)
        return false
      })
      if (made) break
    }
    await rename(tmp, file)
  } finally {
    await rm(tmp, { force: true })
  }
  return file
}

/** Polls `done` every 50 ms until it is true; throws `why` once `seconds` have passed or `gone` says to give up. */
async function until (done: () => Promise<boolean>, seconds: number, gone: () => string | undefined, why: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000
  while (!await done()) {
    const reason = gone()
    if (reason !== undefined) throw new FailedPreconditionError(reason)
    if (Date.now() > deadline) throw new FailedPreconditionError(why)
    await sleep(50)
  }
}

export class VmTemplates {
  /** Builds under way, and those that failed (not tried again by this process), by template name. */
  private readonly builds = new Map<string, Promise<void>>()
  /** One build at a time, after the one before it. */
  private queue: Promise<void> = Promise.resolve()

  private readonly dir: string

  /** `dir`: where the machine keeps templates; `log`: the node's log, told of each build's end. */
  constructor (dir: string, private readonly log: (level: 'info' | 'warn', line: string) => void = () => {}) {
    this.dir = resolve(dir)
  }

  private async nameOf (key: TemplateKey, guest: GuestFiles): Promise<string> {
    const hash = createHash('sha256')
    for (const part of [guest.initrd, await qemuVersion(), guest.accel.accel, key.image, String(key.memoryMb), String(key.cpus)]) hash.update(`${part}\n`)
    return hash.digest('hex').slice(0, 24)
  }

  /** The template a VM of `key` can start from, when there is one; marked as used. */
  async find (key: TemplateKey, guest: GuestFiles): Promise<Template | undefined> {
    const dir = join(this.dir, await this.nameOf(key, guest))
    const t = { dir, state: join(dir, 'state'), initrd: join(dir, 'initrd'), disk: join(this.dir, 'disks', `${key.image.replace(/^sha256:/, '')}.ext4`) }
    if (!existsSync(t.state) || !existsSync(t.disk)) return undefined
    const now = new Date()
    await utimes(join(dir, 'meta.json'), now, now).catch(() => {})
    return t
  }

  /** Makes a template of `key` in the background, unless one is made or being made; a failure is logged. */
  want (key: TemplateKey, guest: GuestFiles): void {
    void this.nameOf(key, guest).then(name => {
      if (this.builds.has(name) || existsSync(join(this.dir, name, 'state'))) return
      const image = key.image.replace(/^sha256:/, '').slice(0, 12)
      const build = this.queue.then(async () => {
        const t0 = Date.now()
        await this.build(name, key, guest)
        // Saved: should it be pruned later, a later run saves it again.
        this.builds.delete(name)
        this.log('info', `saved a VM of image ${image} (${key.memoryMb} MB, ${key.cpus} vCPU) for warm starts in ${Date.now() - t0} ms`)
      }).catch(err => {
        this.log('warn', `cannot save a VM of image ${image} for warm starts: ${messageOf(err)}`)
      })
      this.builds.set(name, build)
      this.queue = build
    })
  }

  /** Removes the template in `dir` (one of this directory's), which a VM failed to start from; whether it was one. */
  async discard (dir: string, why: string): Promise<boolean> {
    if (dirname(dir) !== this.dir || !existsSync(join(dir, 'state'))) return false
    await rm(dir, { recursive: true, force: true })
    this.builds.delete(basename(dir))
    this.log('warn', `dropped the saved VM ${basename(dir)}: a VM restored from it failed (${why})`)
    return true
  }

  /**
   * Boots the template's guest at a low priority (its qemu ends with this process), waits for its aurae-init to say
   * `template` on the status port, saves it, and only then puts it in place, whole.
   */
  private async build (name: string, key: TemplateKey, guest: GuestFiles): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const disk = await rootDisk(key.root, key.image, join(this.dir, 'disks'))
    const final = join(this.dir, name)
    const tmp = `${final}.tmp-${process.pid}`
    await rm(tmp, { recursive: true, force: true })
    await mkdir(tmp, { mode: 0o700 })
    try {
      const t: Template = { dir: tmp, state: join(tmp, 'state'), initrd: join(tmp, 'initrd'), disk }
      await copyFile(guest.initrd, t.initrd)
      await appendFile(t.initrd, templateFile())
      await run('mkfifo', ['-m', '600', join(tmp, 'control.in'), join(tmp, 'control.out'), join(tmp, 'jobport')])
      const file = (f: string): string => join(tmp, f)
      const args = qemuArgs({
        ...savedMachine(t, guest.kernel.vmlinuz, key, guest.accel.accel),
        console: file('console.log'),
        qmp: file('qmp.sock'),
        net: { mac: TEMPLATE_MAC },
        ports: vmPorts({ stdout: 'file,path=/dev/null', stderr: 'file,path=/dev/null', status: `file,path=${optionValue(file('status'))}`, control: `pipe,path=${optionValue(file('control'))}`, exec: `socket,path=${optionValue(file('exec.sock'))},server=on,wait=off`, job: `pipe,path=${optionValue(file('jobport'))}` })
      })
      const qemu = spawn('nice', ['-n', '10', 'setpriv', '--pdeathsig', 'KILL', '--', QEMU, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      let said = ''
      qemu.stderr.on('data', (d: Buffer) => { if (said.length < 4096) said += String(d) })
      let ended: string | undefined
      qemu.on('exit', code => { ended = `its qemu exited with ${code ?? 'a signal'}${said.trim() !== '' ? `: ${said.trim().split('\n').at(-1) ?? ''}` : ''}` })
      qemu.on('error', err => { ended = `cannot run ${QEMU}: ${err.message}` })
      try {
        const status = async (): Promise<string> => await readFile(file('status'), 'utf8').catch(() => '')
        await until(async () => {
          const said = await status()
          const error = said.split('\n').find(l => l.startsWith('error '))
          if (error !== undefined) throw new FailedPreconditionError(`its guest failed: ${error.slice(6)}`)
          return said.includes('template\n')
        }, BUILD_SECONDS, () => ended, `its guest was not ready within ${BUILD_SECONDS} s`)
        await qmp(file('qmp.sock'), 'migrate', { uri: `exec:cat > '${t.state}'` })
        await until(async () => {
          const m = await qmp(file('qmp.sock'), 'query-migrate') as { status?: string, 'error-desc'?: string }
          if (m.status === 'failed' || m.status === 'cancelled') throw new FailedPreconditionError(`qemu could not save it: ${m['error-desc'] ?? m.status}`)
          return m.status === 'completed'
        }, BUILD_SECONDS, () => ended, `its state was not saved within ${BUILD_SECONDS} s`)
      } finally {
        qemu.kill('SIGKILL')
        if (qemu.exitCode === null && qemu.signalCode === null) await new Promise(resolve => qemu.once('exit', resolve))
      }
      for (const f of ['console.log', 'qmp.sock', 'status', 'control.in', 'control.out', 'jobport', 'exec.sock']) await rm(file(f), { force: true })
      await writeFile(file('meta.json'), JSON.stringify({ image: key.image, memoryMb: key.memoryMb, cpus: key.cpus, accel: guest.accel.accel, base: guest.initrd, disk }))
      if (existsSync(final)) return
      await rename(tmp, final)
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
    await this.prune()
  }

  /**
   * Removes the least recently used templates beyond MAX_TEMPLATES, those of an initramfs that is gone (a new
   * kernel or aurae-init), what builds cut short left, and disks no template uses.
   */
  private async prune (): Promise<void> {
    const kept: Array<{ dir: string, used: number, disk: string }> = []
    let building = false
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const dir = join(this.dir, name)
      if (name === 'disks') continue
      const tmpOf = /\.tmp-(\d+)$/.exec(name)
      if (tmpOf !== null) {
        if (startTimeOf(Number(tmpOf[1])) !== undefined) building = true
        else await rm(dir, { recursive: true, force: true })
        continue
      }
      const meta = await readFile(join(dir, 'meta.json'), 'utf8').then(t => JSON.parse(t) as { base: string, disk: string }, () => undefined)
      if (meta === undefined || !existsSync(meta.base)) {
        await rm(dir, { recursive: true, force: true })
        continue
      }
      kept.push({ dir, used: (await stat(join(dir, 'meta.json'))).mtimeMs, disk: meta.disk })
    }
    kept.sort((a, b) => b.used - a.used)
    for (const t of kept.splice(MAX_TEMPLATES)) await rm(t.dir, { recursive: true, force: true })
    // A build under way has a disk no template names yet.
    if (building) return
    const disks = new Set(kept.map(t => t.disk))
    for (const f of await readdir(join(this.dir, 'disks')).catch(() => [] as string[])) {
      const path = join(this.dir, 'disks', f)
      const tmpOf = /\.tmp-(\d+)$/.exec(f)
      if (tmpOf !== null ? startTimeOf(Number(tmpOf[1])) === undefined : !disks.has(path)) await rm(path, { force: true })
    }
  }
}
