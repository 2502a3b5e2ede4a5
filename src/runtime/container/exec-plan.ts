// The exec plan: what aurae-enter (src/runtime/monitor/aurae-enter.c) needs to make a command the container's
// process, as `runc exec` makes it from config.json. Written once beside config.json when the container is made:
// NUL-separated records "KIND VALUE", so that no value (an environment entry may hold a newline) can end a record.
import type { SeccompProfile } from './seccomp.ts'

/** The part of an OCI config (oci-config.ts) that an exec into the container takes. */
export interface ExecConfig {
  process: {
    user: { uid: number, gid: number, additionalGids?: number[] }
    env: string[]
    cwd: string
    capabilities?: { bounding?: string[], effective?: string[], permitted?: string[], inheritable?: string[], ambient?: string[] }
    noNewPrivileges?: boolean
    rlimits?: Array<{ type: string, soft: number, hard: number }>
    oomScoreAdj?: number
  }
  linux: { cgroupsPath: string, seccomp?: SeccompProfile }
}

/** What a call an ERRNO rule refuses returns when the rule names no errno, as the OCI spec says. */
const EPERM = 1

/** Linux's capability numbers (linux/capability.h). */
const CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE',
  'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME',
  'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE']

/** Linux's rlimit numbers on the architectures aurae runs on (asm-generic/resource.h). */
const RLIMITS = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING',
  'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME']

/** A capability set as a 64-bit mask in hex; an unknown name is refused, as the runtime refuses it. */
function capMask (names: string[] = []): string {
  let mask = 0n
  for (const name of names) {
    const bit = CAPABILITIES.indexOf(name.replace(/^CAP_/, ''))
    if (bit < 0) throw new Error(`unknown capability ${name}`)
    mask |= 1n << BigInt(bit)
  }
  return mask.toString(16)
}

/** The plan for a container made from `config`. */
export function execPlan (config: ExecConfig): Buffer {
  const { process: p, linux } = config
  const records = [
    `cgroups-path ${linux.cgroupsPath}`,
    `uid ${p.user.uid}`,
    `gid ${p.user.gid}`,
    ...(p.user.additionalGids ?? []).map(g => `group ${g}`),
    `cwd ${p.cwd}`,
    ...p.env.map(e => `env ${e}`),
    `nnp ${p.noNewPrivileges === true ? 1 : 0}`
  ]
  const caps = p.capabilities
  if (caps !== undefined) records.push(`caps ${[caps.bounding, caps.effective, caps.permitted, caps.inheritable, caps.ambient].map(set => capMask(set)).join(' ')}`)
  for (const r of p.rlimits ?? []) {
    const n = RLIMITS.indexOf(r.type.replace(/^RLIMIT_/, ''))
    if (n < 0) throw new Error(`unknown rlimit ${r.type}`)
    records.push(`rlimit ${n} ${r.soft} ${r.hard}`)
  }
  if (p.oomScoreAdj !== undefined) records.push(`oom ${p.oomScoreAdj}`)
  const seccomp = linux.seccomp
  if (seccomp !== undefined) {
    records.push(`seccomp-default ${seccomp.defaultAction} ${seccomp.defaultErrnoRet ?? EPERM}`)
    // libseccomp's names for the OCI ones: SCMP_ARCH_X86_64 is x86_64.
    for (const arch of seccomp.architectures) records.push(`seccomp-arch ${arch.replace(/^SCMP_ARCH_/, '').toLowerCase()}`)
    for (const rule of seccomp.syscalls) {
      const args = (rule.args ?? []).map(a => `${a.index} ${a.op} ${a.value} ${a.valueTwo ?? 0}`).join(' ')
      for (const name of rule.names) records.push(`seccomp ${rule.action} ${rule.errnoRet ?? EPERM} ${name}${args === '' ? '' : ` ${args}`}`)
    }
  }
  return Buffer.from(records.map(r => `${r}\0`).join(''))
}
