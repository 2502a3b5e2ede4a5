// The guest's initramfs, built from what the project ships and the host has: aurae-init as /init, which loads the
// kernel's modules, mounts the host's shares (virtiofs) and runs a VM's job or the guest's auraed (no shell on the
// way: under software emulation each process started costs milliseconds); busybox (static) beside it, a shell for
// whoever needs one in the guest. Written as a plain (uncompressed) cpio: under software emulation, decompressing
// would cost the guest more than reading the few extra megabytes.
import { existsSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { FailedPreconditionError } from '../../errors.ts'
import { isDynamic } from '../../common/elf.ts'
import type { GuestKernel } from './guest-kernel.ts'

/** A directory of the host shown to the guest at `path`, under virtiofs `tag`. */
export interface GuestShare {
  tag: string
  path: string
  readOnly: boolean
}

export interface InitramfsOptions {
  kernel: GuestKernel
  /** aurae-init (src/runtime/monitor/aurae-init.c), built for the host, which is also the guest's architecture. */
  init: string
  /** A static busybox (Debian's busybox-static). */
  busybox: string
  shares: GuestShare[]
  /** What aurae-init runs as its one child: the guest's auraed (none for a VM's job: see runFiles). */
  command?: string[]
  /** The host's dynamic linker cache, so that the host's /usr, shared, runs as it does on the host. */
  ldCache?: string
}

interface Entry {
  path: string
  mode: number
  data?: Buffer
}

const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000

/** The "newc" cpio archive the kernel unpacks into its first root. */
export function cpio (entries: Entry[]): Buffer {
  const parts: Buffer[] = []
  const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4)
  let ino = 1
  const add = (path: string, mode: number, data: Buffer): void => {
    const name = Buffer.from(`${path}\0`)
    const fields = [ino++, mode, 0, 0, (mode & S_IFDIR) === S_IFDIR ? 2 : 1, 0, data.length, 0, 0, 0, 0, name.length, 0]
    const header = Buffer.from('070701' + fields.map(f => f.toString(16).padStart(8, '0')).join(''))
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length))
  }
  for (const e of entries) add(e.path, e.mode, e.data ?? Buffer.alloc(0))
  add('TRAILER!!!', 0, Buffer.alloc(0))
  return Buffer.concat(parts)
}

/** A guest of busybox alone, whose /init is `script` (busybox sh): for probes and measurements. */
export function busyboxImage (busybox: Buffer, script: string): Buffer {
  return cpio([
    { path: 'bin', mode: S_IFDIR | 0o755 },
    { path: 'bin/busybox', mode: S_IFREG | 0o755, data: busybox },
    { path: 'init', mode: S_IFREG | 0o755, data: Buffer.from(`#!/bin/busybox sh\n${script}\n`) }
  ])
}

/** A word the guest's /init reads one per line: a line break in it would make it two. */
function line (what: string, text: string): string {
  if (/[\n\0]/.test(text)) throw new FailedPreconditionError(`${what} may not hold a line break: ${JSON.stringify(text)}`)
  return text
}

/** /etc/aurae/shares: what /init mounts, one share a line. */
function sharesFile (shares: GuestShare[]): Entry {
  for (const s of shares) {
    if (/\s/.test(s.tag) || /\s/.test(s.path) || !s.path.startsWith('/')) throw new FailedPreconditionError(`a share needs a tag and an absolute path without spaces: ${s.tag} ${s.path}`)
  }
  return { path: 'etc/aurae/shares', mode: S_IFREG | 0o644, data: Buffer.from(shares.map(s => `${s.tag} ${s.path} ${s.readOnly ? 'ro' : 'rw'}\n`).join('')) }
}

/** /etc/aurae/command: what aurae-init runs as its one child (the guest's auraed), an argument a line. */
function commandFile (command: string[], mode: number): Entry {
  return { path: 'etc/aurae/command', mode: S_IFREG | mode, data: Buffer.from(command.map(a => `${line('an argument', a)}\n`).join('')) }
}

/**
 * What one run of a VM adds to its kernel's initramfs, as a second archive after it (the kernel unpacks both, the
 * later over the earlier): the shares this run mounts and its job.
 */
export function runFiles (shares: GuestShare[], job: Buffer): Buffer {
  return cpio([sharesFile(shares), { path: 'etc/aurae/job', mode: S_IFREG | 0o600, data: job }])
}

/**
 * What a nested node's run adds to the initramfs: its shares, its auraed's command line, the files it needs (its
 * key, the host's dynamic linker cache) and its network (job.ts's words, as NETWORK in aurae-init.c).
 */
export function commandFiles (shares: GuestShare[], command: string[], network: Buffer, files: Array<{ path: string, data: Buffer }>): Buffer {
  return cpio([sharesFile(shares),
    commandFile(command, 0o600),
    { path: 'etc/aurae/network', mode: S_IFREG | 0o600, data: network },
    ...files.map(f => ({ path: f.path, mode: S_IFREG | 0o600, data: f.data }))])
}

/** What a machine's boot from its root drive adds to the initramfs: what aurae-init mounts and runs (job.ts). */
export function bootFiles (boot: Buffer): Buffer {
  return cpio([{ path: 'etc/aurae/boot', mode: S_IFREG | 0o600, data: boot }])
}

/** The initramfs for a guest. */
export function initramfs (opts: InitramfsOptions): Buffer {
  const busybox = readFileSync(opts.busybox)
  if (isDynamic(busybox)) throw new FailedPreconditionError(`${opts.busybox} is not a static busybox: apt-get install busybox-static`)
  if (!existsSync(opts.init)) throw new FailedPreconditionError(`${opts.init} is missing: run npm run build`)
  const init = readFileSync(opts.init)
  if (isDynamic(init)) throw new FailedPreconditionError(`${opts.init} is not linked statically, and a guest has no libc to load it with: run npm run build`)
  const dir = (path: string): Entry => ({ path, mode: S_IFDIR | 0o755 })
  const file = (path: string, data: Buffer, mode = 0o644): Entry => ({ path, mode: S_IFREG | mode, data })
  const link = (path: string, target: string): Entry => ({ path, mode: S_IFLNK | 0o777, data: Buffer.from(target) })
  const moduleNames = opts.kernel.modules.map(m => basename(m, '.ko'))
  const bootNames = opts.kernel.bootModules.map(m => basename(m, '.ko'))
  const entries: Entry[] = [
    dir('bin'), dir('sbin'), dir('etc'), dir('etc/aurae'), dir('modules'), dir('proc'), dir('sys'), dir('dev'), dir('run'),
    dir('tmp'), dir('var'), dir('usr'),
    // The host's /usr, once shared, is where the libraries are, as on a merged-/usr Debian.
    link('lib', 'usr/lib'), link('lib64', 'usr/lib64'),
    file('bin/busybox', busybox, 0o755),
    file('init', init, 0o755),
    link('bin/sh', 'busybox'),
    file('modules/order', Buffer.from(moduleNames.map(m => `${m}\n`).join(''))),
    file('modules/boot-order', Buffer.from(bootNames.map(m => `${m}\n`).join(''))),
    ...[...opts.kernel.modules, ...opts.kernel.bootModules].map(m => file(`modules/${basename(m)}`, readFileSync(m))),
    sharesFile(opts.shares),
    commandFile(opts.command ?? [], 0o644),
    ...(opts.ldCache !== undefined && existsSync(opts.ldCache) ? [file('etc/ld.so.cache', readFileSync(opts.ldCache))] : [])
  ]
  return cpio(entries)
}

/** What a host directory is to a guest: served by a virtiofsd under `tag`, mounted at `path` inside. */
export interface HostShare extends GuestShare {
  source: string
}

/**
 * A guest whose PID 1 (aurae-init) runs auraed from `checkout` — this project's, with its Node — on the host's
 * /usr, both shared read-only. Its data lives in the guest's memory for now.
 */
export function auraedGuest (kernel: GuestKernel, checkout: string): { options: InitramfsOptions, shares: HostShare[] } {
  const shares: HostShare[] = [{ tag: 'usr', path: '/usr', source: '/usr', readOnly: true }, { tag: 'aurae', path: '/aurae', source: checkout, readOnly: true }]
  return {
    shares,
    options: {
      kernel,
      init: join(checkout, 'dist', 'runtime', 'monitor', 'aurae-init'),
      busybox: '/bin/busybox',
      shares: shares.map(({ tag, path, readOnly }) => ({ tag, path, readOnly })),
      command: ['/aurae/node_modules/node/bin/node', '/aurae/bin/auraed.js', '--pid1', '--sock', '/run/aurae.sock', '--data', '/var/lib/aurae',
        '--key', '/var/lib/aurae/id_aura', '--listen', '/ip4/127.0.0.1/tcp/0'],
      ldCache: '/etc/ld.so.cache'
    }
  }
}
