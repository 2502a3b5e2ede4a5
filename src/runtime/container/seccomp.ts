// The default seccomp filter for containers: the policy of Docker's default profile (allow what an
// unprivileged process needs, refuse the rest with EPERM), with the rules that depend on a capability
// following the capabilities the container really has.
import { release } from 'node:os'

const EPERM = 1
const ENOSYS = 38
const AF_VSOCK = 40
// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
const NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

const words = (text: string): string[] => text.trim().split(/\s+/)

/**
 * Safe for any process: its own memory, files, sockets, signals, timers and ids. The io_uring calls
 * are left out (Docker dropped them in 25.0: their operations bypass the filter), and so are the
 * keyring, BPF, perf, mount and namespace calls, which need a capability below.
 */
const ALWAYS = words(`
  _llseek _newselect accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod
  chown chown32 clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
  clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat
  dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
  epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
  fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl
  fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64
  fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv
  futex_wake futimesat get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid
  getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid
  getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit
  getrusage getsid getsockname getsockopt gettid gettimeofday getuid getuid32 getxattr
  inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents
  io_pgetevents io_pgetevents_time64 io_setup io_submit ioctl ioprio_get ioprio_set ipc kill
  landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
  listen listxattr llistxattr lremovexattr lseek lsetxattr lstat lstat64 madvise map_shadow_stack
  membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap
  mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
  mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
  name_to_handle_at nanosleep newfstatat open openat openat2 pause pidfd_open pidfd_send_signal pipe
  pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
  prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink
  readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename
  renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
  rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
  sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr sched_getparam
  sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity
  sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop
  semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_robust_list
  set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups
  setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
  setresuid32 setreuid setreuid32 setrlimit setsid setsockopt setuid setuid32 setxattr shmat shmctl
  shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair
  splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee
  tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
  timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64
  times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
  utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
`)

/** Calls a capability makes safe: allowed only to a container that holds it. */
const BY_CAPABILITY: Array<[string, string[]]> = [
  ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
  ['CAP_SYS_ADMIN', words(`bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount
    mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns
    syslog umount umount2 unshare`)],
  ['CAP_SYS_BOOT', ['reboot']],
  ['CAP_SYS_CHROOT', ['chroot']],
  ['CAP_SYS_MODULE', ['delete_module', 'init_module', 'finit_module']],
  ['CAP_SYS_PACCT', ['acct']],
  ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace']],
  ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
  ['CAP_SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']],
  ['CAP_SYS_TTY_CONFIG', ['vhangup']],
  ['CAP_SYS_NICE', ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']],
  ['CAP_SYSLOG', ['syslog']],
  ['CAP_BPF', ['bpf']],
  ['CAP_PERFMON', ['perf_event_open']]
]

/** Calls that exist only on some architectures (Node's names for them). */
const BY_ARCH: Array<[string[], string[]]> = [
  [['x64'], ['arch_prctl']],
  [['x64', 'ia32'], ['modify_ldt']],
  [['arm', 'arm64'], ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls']],
  [['ppc64'], ['sync_file_range2', 'swapcontext']],
  [['s390x'], ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr']],
  [['riscv64'], ['riscv_flush_icache']]
]

/**
 * The filter's architectures: the native one and those its binaries may also run as; a call made as
 * any other is killed (SIGSYS). Unlike Docker's, x86-64's list leaves out the x32 ABI: kernels ship
 * with it off (a call gets ENOSYS without the filter), and listing it more than doubles what runc
 * compiles, about 10 ms on every container start here.
 */
const ARCHITECTURES: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  ia32: ['SCMP_ARCH_X86'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  arm: ['SCMP_ARCH_ARM'],
  ppc64: ['SCMP_ARCH_PPC64LE'],
  s390x: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'],
  riscv64: ['SCMP_ARCH_RISCV64']
}

/**
 * personality(2) only to set the plain Linux persona, optionally 32-bit or with a 2.6-style uname,
 * or to read the current one; the others turn off protections such as address randomisation.
 */
const PERSONAS = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff]

export interface SeccompArg { index: number, value: number, valueTwo?: number, op: string }
export interface SeccompRule { names: string[], action: string, errnoRet?: number, args?: SeccompArg[] }
export interface SeccompProfile {
  defaultAction: string
  defaultErrnoRet: number
  architectures: string[]
  syscalls: SeccompRule[]
}

/** True when `release` (as uname says it) is at least `major.minor`. */
function kernelAtLeast (text: string, major: number, minor: number): boolean {
  const [a, b] = text.split(/[.-]/).map(Number)
  return a > major || (a === major && b >= minor)
}

/**
 * The OCI `linux.seccomp` for a container holding `capabilities` (its bounding set), on this
 * machine's architecture and kernel unless told otherwise.
 */
export function defaultSeccomp (capabilities: readonly string[], arch: string = process.arch, kernel: string = release()): SeccompProfile {
  const has = (cap: string): boolean => capabilities.includes(cap)
  const allow = (names: string[], args?: SeccompArg[]): SeccompRule => ({ names, action: 'SCMP_ACT_ALLOW', ...(args === undefined ? {} : { args }) })
  const rules: SeccompRule[] = [allow(ALWAYS)]
  // Since 4.8 a tracer can no longer use ptrace to step around the filter.
  if (kernelAtLeast(kernel, 4, 8)) rules.push(allow(['process_vm_readv', 'process_vm_writev', 'ptrace']))
  // Any socket but vsock, which reaches the host's (or a VM's) services outside the network namespace.
  rules.push(allow(['socket'], [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }]))
  for (const persona of PERSONAS) rules.push(allow(['personality'], [{ index: 0, value: persona, op: 'SCMP_CMP_EQ' }]))
  for (const [arches, names] of BY_ARCH) if (arches.includes(arch)) rules.push(allow(names))
  for (const [cap, names] of BY_CAPABILITY) if (has(cap)) rules.push(allow(names))
  if (!has('CAP_SYS_ADMIN')) {
    // Threads and processes, but no new namespaces. s390 passes clone's flags second.
    rules.push(allow(['clone'], [{ index: arch === 's390x' ? 1 : 0, value: NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]))
    // clone3 hides its flags in memory the filter cannot read: ENOSYS makes libc fall back to clone.
    rules.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS })
  }
  return { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: ARCHITECTURES[arch] ?? [], syscalls: rules }
}
