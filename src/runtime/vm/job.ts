// What a VM's PID 1 runs: the job, written into the guest's initramfs as /etc/aurae/job, which aurae-init (--job)
// reads. A list of NUL-ended words, each key followed by as many values as it takes (bind takes three), so that no
// argument, variable or path needs quoting:
//
//   root PATH            the image's root, as /init mounted it (read-only); the workload's root is an overlay of it
//   arg WORD             the command line, in order (at least one)
//   env NAME=VALUE       its environment
//   workdir PATH         inside the root, made when missing
//   uid N  gid N  groups N,N,...
//   bind SRC DST ro|rw   a share /init mounted at SRC, shown at DST inside the root
//   memory BYTES  pids N the workload's cgroup limits inside the guest (0: none)
//   stopsignal N         what the power button sends it
//   hostname NAME
//   address A.B.C.D/N    eth0's address, when the VM has a network (and lo is brought up either way)
//   gateway A.B.C.D      its default route
//   file PATH TEXT       a file written into the root (the name files: /etc/hosts, /etc/resolv.conf …)
//   mac XX:XX:XX:XX:XX:XX eth0's hardware address, set before it comes up
//   entropy HEX          bytes mixed into the guest's random pool (and credited) before anything runs
//   clock S.NNNNNNNNN    the host's wall clock when it started the VM, set first of all
//
// The last three are a restored VM's fresh identity (templates.ts): a VM started from a saved one would otherwise
// have that one's MAC, clock and random state. A warm VM's job comes on the port aurae.job, after its length and a
// line break, and the host adds the clock as it starts qemu.
// The guest talks back on named virtio-serial ports (ports.ts says which): the workload's stdout and stderr, its end
// on the status port, and signals from the host on the control port.
import { FailedPreconditionError } from '../../errors.ts'

/** Where a guest has the image's root (over virtiofs when booted, its disk when restored): a job's `root`. */
export const GUEST_IMAGE_ROOT = '/run/aurae/image'

export interface GuestJob {
  root: string
  argv: string[]
  env: string[]
  workdir: string
  uid: number
  gid: number
  groups: number[]
  binds: Array<{ source: string, target: string, readOnly: boolean }>
  memoryBytes: number
  pids: number
  stopSignal: number
  hostname: string
  /** eth0's address and default route; none for a VM without a network. */
  network?: { address: string, prefix: number, gateway: string }
  files?: Array<{ path: string, text: string }>
  /** A restored VM's own: eth0's MAC (its card has the template's) and random bytes for its pool, as hex. */
  identity?: { mac: string, entropy: string }
}

/**
 * What a machine's PID 1 does instead of a job (/etc/aurae/boot, the same NUL-ended words): mount its root drive
 * and drives and hand PID 1 to the drive's own init.
 *
 *   device DEV  mode ro|rw  fstype TYPE   the root drive (the type found by trying when empty)
 *   drive DEV PATH TYPE ro|rw             a further drive, mounted at PATH in the new root
 *   hostname NAME  address A.B.C.D/N  gateway A.B.C.D   as a job's
 *   init PATH                             what runs as PID 1 (the kernel command line's init= wins)
 */
export interface GuestBoot {
  device: string
  readOnly: boolean
  fsType: string
  drives: Array<{ device: string, path: string, fsType: string, readOnly: boolean }>
  hostname: string
  network?: { address: string, prefix: number, gateway: string }
  init: string
}

/** The boot file's bytes. */
export function encodeBoot (boot: GuestBoot): Buffer {
  const words = ['device', boot.device, 'mode', boot.readOnly ? 'ro' : 'rw', 'fstype', boot.fsType]
  for (const d of boot.drives) words.push('drive', d.device, d.path, d.fsType, d.readOnly ? 'ro' : 'rw')
  words.push('hostname', boot.hostname, 'init', boot.init)
  if (boot.network !== undefined) words.push('address', `${boot.network.address}/${boot.network.prefix}`, 'gateway', boot.network.gateway)
  return nulWords(words)
}

/** A nested node's network file (aurae-init's NETWORK): its hostname, address and gateway, as a job's. */
export function encodeNetwork (hostname: string, network: { address: string, prefix: number, gateway: string }): Buffer {
  return nulWords(['hostname', hostname, 'address', `${network.address}/${network.prefix}`, 'gateway', network.gateway])
}

/** Words each ended by a NUL; none may hold one. */
function nulWords (words: string[]): Buffer {
  for (const w of words) {
    if (w.includes('\0')) throw new FailedPreconditionError(`a VM's command, environment and paths may not hold a NUL: ${JSON.stringify(w)}`)
  }
  return Buffer.from(words.map(w => `${w}\0`).join(''))
}

/** The job file's bytes. */
export function encodeJob (job: GuestJob): Buffer {
  if (job.argv.length === 0) throw new FailedPreconditionError('a VM needs a command: the image has none and none was given')
  const words: string[] = ['root', job.root]
  for (const a of job.argv) words.push('arg', a)
  for (const e of job.env) words.push('env', e)
  words.push('workdir', job.workdir, 'uid', String(job.uid), 'gid', String(job.gid), 'groups', job.groups.join(','))
  for (const b of job.binds) words.push('bind', b.source, b.target, b.readOnly ? 'ro' : 'rw')
  words.push('memory', String(job.memoryBytes), 'pids', String(job.pids), 'stopsignal', String(job.stopSignal), 'hostname', job.hostname)
  if (job.network !== undefined) words.push('address', `${job.network.address}/${job.network.prefix}`, 'gateway', job.network.gateway)
  for (const f of job.files ?? []) words.push('file', f.path, f.text)
  if (job.identity !== undefined) words.push('mac', job.identity.mac, 'entropy', job.identity.entropy)
  return nulWords(words)
}

/** How a run's workload ended, as aurae-init says on the status port. */
export interface GuestEnd {
  exitCode: number | null
  /** The signal's number when a signal ended it. */
  signal: number | null
  oomKills: number
  /** Why the command could not run (127: not found, 126: not runnable). */
  error?: string
}

/**
 * Reads the status port's text: `started` once the workload was started, an optional `error MESSAGE` line, then
 * `exit CODE OOMKILLS` or `signal N OOMKILLS`. Undefined when the guest never said (it was killed, or crashed first).
 */
export function parseGuestEnd (text: string): GuestEnd | undefined {
  let error: string | undefined
  for (const line of text.split('\n')) {
    if (line.startsWith('error ')) error = line.slice(6)
    const m = /^(exit|signal) (\d+) (\d+)$/.exec(line)
    if (m !== null) {
      const n = Number(m[2])
      return { exitCode: m[1] === 'exit' ? n : null, signal: m[1] === 'signal' ? n : null, oomKills: Number(m[3]), ...(error !== undefined ? { error } : {}) }
    }
  }
  return undefined
}
