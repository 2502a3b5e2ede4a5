// The OCI runtime config (config.json) for a container: what the image says, overridden by the
// user's options, with the defaults the common engines use (capabilities, masked paths, mounts).
import { readdirSync } from 'node:fs'
import { InvalidArgumentError } from '../../errors.ts'
import { DEFAULT_PATH } from '../driver.ts'
import type { EtcFiles } from './etc-files.ts'
import { defaultSeccomp } from './seccomp.ts'

/** The parts of an image config a container starts from. */
export interface ImageConfig {
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Env?: string[] | null
  WorkingDir?: string
  User?: string
  /** The signal that stops the image's process (`SIGINT`, `INT`, `2`). */
  StopSignal?: string
}

export interface Volume {
  host: string
  container: string
  readOnly: boolean
}

export interface ContainerOptions {
  name: string
  /** Replaces the image's Cmd (and, with entrypoint, its Entrypoint). */
  command: string[]
  entrypoint?: string[]
  env: Record<string, string>
  workdir: string
  user: string
  volumes: Volume[]
  /** none: its own empty network namespace; host: the host's; a path: a prepared namespace. */
  network: { mode: 'none' | 'host' } | { mode: 'path', path: string }
  limits: { cpus: number, memoryBytes: number, pids: number }
  /** Where the runtime puts the container's cgroups (`/aurae/<node>/ct-<name>`). */
  cgroupsPath: string
  /** The name files the node wrote for it (etc-files.ts). */
  etcFiles: EtcFiles
  /** False runs the container without a seccomp filter (`--security-opt seccomp=unconfined`). */
  seccomp: boolean
  /** A terminal for the process (run -t); it gets TERM=xterm unless the image or -e says otherwise, as in Docker. */
  tty?: boolean
}

/** Docker's default capability set. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'
]

/** Docker's masked paths: kernel state a container must not read (or write), as empty files or directories. */
const MASKED = ['/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap']
/** Docker's read-only paths: kernel settings a container may read but not change. */
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

/** The process arguments: Entrypoint + Cmd, as Docker combines them. */
export function processArgs (image: ImageConfig, opts: Pick<ContainerOptions, 'command' | 'entrypoint'>): string[] {
  const entrypoint = opts.entrypoint ?? image.Entrypoint ?? []
  const cmd = opts.command.length > 0 ? opts.command : (opts.entrypoint !== undefined ? [] : image.Cmd ?? [])
  const args = [...entrypoint, ...cmd]
  if (args.length === 0) throw new InvalidArgumentError('the image has no command; give one after --')
  return args
}

/** `1000`, `1000:1000`, `nobody`, `www-data:www-data` → uid/gid, names looked up in the image's /etc files. */
export function resolveUser (user: string, passwd: string, group: string): { uid: number, gid: number } {
  if (user === '') return { uid: 0, gid: 0 }
  const [u, g] = user.split(':')
  const lookup = (table: string, name: string, field: number): string[] | undefined =>
    table.split('\n').map(l => l.split(':')).find(f => f[0] === name || (field === 2 && f[2] === name))
  let uid: number
  let gid: number | undefined
  if (/^\d+$/.test(u)) {
    uid = Number(u)
    const row = passwd.split('\n').map(l => l.split(':')).find(f => f[2] === u)
    gid = row === undefined ? uid : Number(row[3])
  } else {
    const row = lookup(passwd, u, 0)
    if (row === undefined) throw new InvalidArgumentError(`unknown user "${u}" in the image`)
    uid = Number(row[2])
    gid = Number(row[3])
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g)
    else {
      const row = lookup(group, g, 0)
      if (row === undefined) throw new InvalidArgumentError(`unknown group "${g}" in the image`)
      gid = Number(row[2])
    }
  }
  return { uid, gid: gid ?? 0 }
}

/** Each CPU's thermal throttling counters, which Docker masks too (a side channel on other tenants' work). */
function thermalPaths (cpus = '/sys/devices/system/cpu'): string[] {
  let names: string[]
  try {
    names = readdirSync(cpus)
  } catch {
    return []
  }
  return names.filter(n => /^cpu\d+$/.test(n)).map(n => `${cpus}/${n}/thermal_throttle`)
}

/** The rbind options of a volume: a read-only one is read-only all the way down, submounts included. */
function volumeOptions (readOnly: boolean): string[] {
  return ['rbind', readOnly ? 'rro' : 'rw']
}

/** The process's environment, as Docker makes it: a default PATH, the image's Env, HOSTNAME, then the user's. */
export function processEnv (image: ImageConfig, opts: Pick<ContainerOptions, 'name' | 'env' | 'tty'>): string[] {
  return mergeEnv([`PATH=${DEFAULT_PATH}`, ...(opts.tty === true ? ['TERM=xterm'] : []), ...(image.Env ?? []), `HOSTNAME=${opts.name}`], opts.env)
}

/** KEY=VALUE entries, a later one replacing an earlier of the same key, then `added` over them. */
function mergeEnv (entries: string[], added: Record<string, string>): string[] {
  const env = new Map<string, string>()
  for (const kv of entries) {
    const eq = kv.indexOf('=')
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1))
  }
  for (const [k, v] of Object.entries(added)) env.set(k, v)
  return [...env].map(([k, v]) => `${k}=${v}`)
}

/** The process's working directory: the user's, else the image's WorkingDir, else /. */
export function processCwd (image: ImageConfig, workdir: string): string {
  return workdir !== '' ? workdir : (image.WorkingDir !== undefined && image.WorkingDir !== '' ? image.WorkingDir : '/')
}

/** A process of an OCI config, as far as exec changes it. */
export interface OciProcess {
  terminal?: boolean
  consoleSize?: { height: number, width: number }
  args?: string[]
  env?: string[]
  cwd?: string
  [other: string]: unknown
}

/**
 * The process `runtime exec --process` runs for a command on a terminal: the container's own (user, capabilities,
 * no_new_privs, limits), with the command, the environment with the caller's added (TERM=xterm unless set, as
 * docker exec -t), another working directory when given, and the terminal's size from its start: the runtime
 * would otherwise size it only once the command runs, which could then read 0x0.
 */
export function execProcess (container: OciProcess, request: { command: string[], env: Record<string, string>, workdir: string, size?: { rows: number, cols: number } }): OciProcess {
  const size = request.size ?? { rows: 24, cols: 80 }
  return {
    ...container,
    terminal: true,
    consoleSize: { height: size.rows, width: size.cols },
    args: request.command,
    env: mergeEnv(['TERM=xterm', ...container.env ?? []], request.env),
    cwd: request.workdir !== '' ? request.workdir : container.cwd
  }
}

export function ociConfig (image: ImageConfig, opts: ContainerOptions, ids: { uid: number, gid: number }): object {
  const namespaces: object[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }]
  if (opts.network.mode === 'none') namespaces.push({ type: 'network' })
  if (opts.network.mode === 'path') namespaces.push({ type: 'network', path: opts.network.path })
  const resources: Record<string, object> = {}
  if (opts.limits.cpus > 0) resources.cpu = { quota: Math.round(opts.limits.cpus * 100_000), period: 100_000 }
  if (opts.limits.memoryBytes > 0) resources.memory = { limit: opts.limits.memoryBytes, swap: opts.limits.memoryBytes }
  if (opts.limits.pids > 0) resources.pids = { limit: opts.limits.pids }
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: opts.tty === true,
      user: ids,
      args: processArgs(image, opts),
      env: processEnv(image, opts),
      cwd: processCwd(image, opts.workdir),
      capabilities: { bounding: DEFAULT_CAPABILITIES, effective: DEFAULT_CAPABILITIES, permitted: DEFAULT_CAPABILITIES },
      noNewPrivileges: true
    },
    root: { path: 'rootfs', readonly: false },
    hostname: opts.name,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      // A sysfs of its own in every network mode (never the host's /sys with its cgroup mounts), and
      // the container's own cgroups below it, read-only, as Docker mounts them.
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      { destination: '/etc/hosts', type: 'bind', source: opts.etcFiles.hosts, options: ['rbind', 'ro'] },
      { destination: '/etc/hostname', type: 'bind', source: opts.etcFiles.hostname, options: ['rbind', 'ro'] },
      { destination: '/etc/resolv.conf', type: 'bind', source: opts.etcFiles.resolvConf, options: ['rbind', 'ro'] },
      ...opts.volumes.map(v => ({ destination: v.container, type: 'bind', source: v.host, options: volumeOptions(v.readOnly) }))
    ],
    linux: {
      namespaces,
      cgroupsPath: opts.cgroupsPath,
      resources,
      maskedPaths: [...MASKED, ...thermalPaths()],
      // runc (1.1 on cgroup v1) leaves the tmpfs holding the cgroup mounts writable; Docker's list
      // plus that tmpfs keeps everything under /sys read-only.
      readonlyPaths: [...READONLY, '/sys/fs/cgroup'],
      // The filter's capability rules follow the bounding set: what the container could ever hold.
      ...(opts.seccomp ? { seccomp: defaultSeccomp(DEFAULT_CAPABILITIES) } : {})
    }
  }
}
