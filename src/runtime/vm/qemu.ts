// How a guest is started: qemu's command line (q35 with virtio-pci, the machine the Debian cloud kernel boots on),
// a virtiofsd per host directory the guest sees, and QMP, qemu's control socket, to press the power button.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { FailedPreconditionError } from '../../errors.ts'
import type { HostShare } from './initramfs.ts'

/** Debian's virtiofsd (qemu-system-common). */
export const VIRTIOFSD = '/usr/lib/qemu/virtiofsd'
export const QEMU = 'qemu-system-x86_64'
/** The minimal firmware qemu ships, for machines that boot a kernel directly. */
const QBOOT = '/usr/share/qemu/qboot.rom'

export interface GuestMachine {
  kernel: string
  /** None for a kernel of the caller's, which boots its root drive by itself. */
  initrd?: string
  /** Added to the kernel's command line. */
  kernelArgs?: string[]
  /** Raw disk images, as virtio disks in order (/dev/vda, /dev/vdb …); qemu locks them against a second writer. */
  drives?: Array<{ path: string, readOnly: boolean }>
  memoryMb: number
  cpus: number
  accel: 'kvm' | 'tcg'
  /** virtiofsd sockets, by the tag the guest mounts them with. */
  shares?: Array<{ tag: string, socket: string }>
  /** Where the serial console goes: a file, 'stdio', or the FIFOs PATH.in and PATH.out; nowhere when left out. */
  console?: string | { pipe: string }
  /** The QMP socket, for a guest that is to be told things (the power button). */
  qmp?: string
  /** Named virtio-serial ports, each on a qemu character device backend (`file,path=...`, `pipe,path=...`). */
  ports?: Array<{ name: string, backend: string }>
  /**
   * A network card with its MAC, on an existing tap device (in the network namespace qemu runs in); with no tap, a
   * card on no network (a template's: templates.ts).
   */
  net?: { tap?: string, mac: string }
  /** A saved VM's state to start from instead of booting (qemu migration, read with `cat`): a warm start. */
  incoming?: string
}

/** The ports a VM's workload talks on (job.ts): its output, its end, and signals from the host. */
export const PORTS = { stdout: 'aurae.stdout', stderr: 'aurae.stderr', status: 'aurae.status', control: 'aurae.control', exec: 'aurae.exec', job: 'aurae.job' } as const

/**
 * A VM's ports in the one order every VM has them (a warm VM's must be its template's: templates.ts), each on the
 * qemu character device backend given for it; a port without one is left out.
 */
export function vmPorts (backends: Partial<Record<keyof typeof PORTS, string>>): Array<{ name: string, backend: string }> {
  return (Object.keys(PORTS) as Array<keyof typeof PORTS>).flatMap(k => backends[k] !== undefined ? [{ name: PORTS[k], backend: backends[k] }] : [])
}

let version: Promise<string> | undefined

/** qemu's version line (`QEMU emulator version 7.2.22 …`), asked once per process; refused when qemu is missing. */
export async function qemuVersion (): Promise<string> {
  version ??= new Promise<string>((resolve, reject) => {
    execFile(QEMU, ['--version'], (err, stdout) => {
      if (err !== null) reject(new FailedPreconditionError(`VMs need ${QEMU}: apt-get install qemu-system-x86`))
      else resolve(stdout.split('\n')[0])
    })
  })
  try {
    return await version
  } catch (err) {
    version = undefined
    throw err
  }
}

/** A value inside one of qemu's `key=value,...` options: a comma in it is written twice. */
export function optionValue (text: string): string {
  return text.replaceAll(',', ',,')
}

/** qemu's arguments for a guest: no default devices (no firmware ROMs to run). */
export function qemuArgs (m: GuestMachine): string[] {
  const args = [
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-machine', `q35,accel=${m.accel}`, '-cpu', m.accel === 'kvm' ? 'host' : 'max',
    '-m', `${m.memoryMb}`, '-smp', `${m.cpus}`,
    '-kernel', m.kernel, ...(m.initrd !== undefined ? ['-initrd', m.initrd] : []),
    // Nothing to probe for (no keyboard controller behind the i8042, a timer that works) and no self-tests of the
    // crypto algorithms: a fifth of a boot under TCG.
    '-append', ['console=ttyS0 quiet panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd no_timer_check cryptomgr.notests', ...m.kernelArgs ?? []].join(' '),
    // qboot (qemu-system-data) hands over to the kernel sooner than SeaBIOS, which has nothing to do here.
    ...(existsSync(QBOOT) ? ['-bios', QBOOT] : []),
    ...(m.console === undefined ? ['-serial', 'null'] : m.console === 'stdio' ? ['-serial', 'stdio'] : ['-chardev', typeof m.console === 'string' ? `file,id=console,path=${optionValue(m.console)}` : `pipe,id=console,path=${optionValue(m.console.pipe)}`, '-serial', 'chardev:console']),
    ...(m.qmp === undefined ? [] : ['-qmp', `unix:${optionValue(m.qmp)},server=on,wait=off`])
  ]
  if (m.net?.tap !== undefined) args.push('-netdev', `tap,id=net0,ifname=${m.net.tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=net0,mac=${m.net.mac}`)
  else if (m.net !== undefined) args.push('-device', `virtio-net-pci,mac=${m.net.mac}`)
  for (const [i, d] of (m.drives ?? []).entries()) {
    args.push('-drive', `file=${optionValue(d.path)},if=none,id=drive${i},format=raw,readonly=${d.readOnly ? 'on' : 'off'}`, '-device', `virtio-blk-pci,drive=drive${i}`)
  }
  const ports = m.ports ?? []
  if (ports.length > 0) {
    args.push('-device', 'virtio-serial-pci,id=ports')
    for (const [i, p] of ports.entries()) args.push('-chardev', `${p.backend},id=port${i}`, '-device', `virtserialport,bus=ports.0,chardev=port${i},name=${p.name}`)
  }
  const shares = m.shares ?? []
  if (shares.length > 0) {
    // vhost-user devices need the guest's memory shared with virtiofsd.
    args.push('-object', `memory-backend-memfd,id=mem,size=${m.memoryMb}M,share=on`, '-numa', 'node,memdev=mem')
    for (const [i, s] of shares.entries()) args.push('-chardev', `socket,id=fs${i},path=${optionValue(s.socket)}`, '-device', `vhost-user-fs-pci,chardev=fs${i},tag=${s.tag}`)
  }
  if (m.incoming !== undefined) {
    // qemu hands the URI's command to sh: the path goes in quoted.
    if (m.incoming.includes("'")) throw new FailedPreconditionError(`a VM's saved state may not have a quote in its path: ${m.incoming}`)
    args.push('-incoming', `exec:cat '${m.incoming}'`)
  }
  return args
}

/**
 * A virtiofsd serving `source` on `socket`. Read-only shares are read-only on the host's side too: virtiofsd has
 * no such option, so it serves a read-only bind mount of `source` at `mountpoint` (an empty directory) made in a
 * mount namespace of its own, which nothing else sees. It chroots into it (pivot_root is refused on a host whose
 * root is an initramfs).
 */
export function startVirtiofsd (source: string, mountpoint: string, socket: string, readOnly: boolean): ChildProcess {
  return spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', VIRTIOFSD_SCRIPT, 'sh', source, mountpoint, readOnly ? 'ro' : 'rw', VIRTIOFSD, socket, cacheOf(readOnly)], { stdio: ['ignore', 'ignore', 'pipe'] })
}

/**
 * What runs a virtiofsd in its mount namespace: `sh -c SCRIPT sh SOURCE MOUNTPOINT ro|rw VIRTIOFSD SOCKET CACHE`.
 * What only the guest reads, it may cache for good; what both sides write, it must not cache at all, or it misses
 * what the host writes.
 */
export const VIRTIOFSD_SCRIPT = 'mount --bind "$1" "$2" || exit 1; if [ "$3" = ro ]; then mount -o remount,bind,ro "$2" || exit 1; fi; exec "$4" --socket-path="$5" -o source="$2" -o cache="$6" -o sandbox=chroot -o no_posix_lock'

/** virtiofsd's cache mode for a share. */
export function cacheOf (readOnly: boolean): 'always' | 'none' {
  return readOnly ? 'always' : 'none'
}

/**
 * A virtiofsd for each share, with its mount point and socket in `dir`; resolves once every one listens. If one
 * exits or they take longer than `timeoutMs`, all of them are ended and the start fails.
 */
export async function serveShares (shares: HostShare[], dir: string, timeoutMs = 20_000): Promise<{ sockets: Array<{ tag: string, socket: string }>, daemons: ChildProcess[] }> {
  const sockets = shares.map(s => ({ tag: s.tag, socket: join(dir, `${s.tag}.sock`) }))
  const daemons = shares.map((s, i) => {
    const mountpoint = join(dir, `share-${s.tag}`)
    mkdirSync(mountpoint, { recursive: true })
    return startVirtiofsd(s.source, mountpoint, sockets[i].socket, s.readOnly)
  })
  const deadline = Date.now() + timeoutMs
  while (!sockets.every(s => existsSync(s.socket))) {
    if (daemons.some(d => d.exitCode !== null) || Date.now() > deadline) {
      for (const d of daemons) d.kill('SIGKILL')
      throw new FailedPreconditionError(`virtiofsd did not start for ${shares.map(s => s.source).join(' and ')}`)
    }
    await sleep(5)
  }
  return { sockets, daemons }
}

/** Sends one QMP command (after the capabilities handshake) and returns its answer. */
export async function qmp (socket: string, execute: string, args?: object): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    const conn = createConnection(socket)
    let buf = ''
    let stage = 0
    const fail = (err: Error): void => { conn.destroy(); reject(err) }
    conn.setTimeout(10_000, () => fail(new FailedPreconditionError(`qemu did not answer on ${socket}`)))
    conn.on('error', err => fail(new FailedPreconditionError(`cannot reach qemu on ${socket}: ${err.message}`)))
    conn.on('data', d => {
      buf += String(d)
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { QMP?: unknown, return?: unknown, error?: { desc: string }, event?: string }
        buf = buf.slice(nl + 1)
        if (msg.event !== undefined) continue
        if (msg.error !== undefined) return fail(new FailedPreconditionError(`qemu refused ${execute}: ${msg.error.desc}`))
        if (stage === 0) conn.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n')
        else if (stage === 1) conn.write(JSON.stringify({ execute, ...(args === undefined ? {} : { arguments: args }) }) + '\n')
        else {
          conn.end()
          return resolve(msg.return)
        }
        stage++
      }
    })
  })
}
