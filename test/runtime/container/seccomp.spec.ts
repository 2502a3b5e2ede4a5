import { describe, expect, it } from 'vitest'
import { DEFAULT_CAPABILITIES } from '../../../src/runtime/container/oci-config.ts'
import { defaultSeccomp, type SeccompProfile } from '../../../src/runtime/container/seccomp.ts'

/** Names a rule allows with no condition on the arguments. */
const allowed = (p: SeccompProfile): string[] => p.syscalls.filter(r => r.action === 'SCMP_ACT_ALLOW' && r.args === undefined).flatMap(r => r.names)
const ruleFor = (p: SeccompProfile, name: string): SeccompProfile['syscalls'] => p.syscalls.filter(r => r.names.includes(name))

describe('the default seccomp profile', () => {
  const docker = defaultSeccomp(DEFAULT_CAPABILITIES, 'x64', '6.18.0')

  it('refuses with EPERM whatever it does not allow, on x86-64 and i386 (not x32)', () => {
    expect(docker).toMatchObject({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'] })
    expect(allowed(docker)).toEqual(expect.arrayContaining(['read', 'write', 'execve', 'openat', 'futex', 'arch_prctl', 'modify_ldt']))
  })

  it('leaves out the keyring, io_uring, perf, BPF, mounts and namespaces for Docker\'s default capabilities', () => {
    for (const name of ['keyctl', 'add_key', 'request_key', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'perf_event_open',
      'bpf', 'mount', 'umount2', 'unshare', 'setns', 'kexec_load', 'init_module', 'reboot', 'open_by_handle_at', 'syslog']) {
      expect(ruleFor(docker, name), name).toEqual([])
    }
  })

  it('follows the capabilities the container holds', () => {
    // CAP_SYS_CHROOT is in Docker's default set, so chroot is allowed; the others are not.
    expect(allowed(docker)).toContain('chroot')
    const admin = defaultSeccomp([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_TIME'], 'x64', '6.18.0')
    expect(allowed(admin)).toEqual(expect.arrayContaining(['mount', 'unshare', 'setns', 'clone', 'clone3', 'kcmp', 'pidfd_getfd', 'clock_settime']))
    expect(allowed(admin)).not.toContain('keyctl')
    const none = defaultSeccomp([], 'x64', '6.18.0')
    expect(allowed(none)).not.toContain('chroot')
  })

  it('allows clone without namespace flags only, and makes clone3 fall back to it, unless CAP_SYS_ADMIN', () => {
    expect(ruleFor(docker, 'clone')).toEqual([{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }])
    expect(ruleFor(docker, 'clone3')).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }])
    expect(ruleFor(defaultSeccomp(['CAP_SYS_ADMIN'], 's390x', '6.18.0'), 'clone').every(r => r.args === undefined)).toBe(true)
    expect(ruleFor(defaultSeccomp([], 's390x', '6.18.0'), 'clone')[0].args?.[0].index).toBe(1)
  })

  it('allows only the harmless personalities and any socket but vsock', () => {
    expect(ruleFor(docker, 'personality').map(r => r.args?.[0].value)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff])
    expect(ruleFor(docker, 'socket')).toEqual([{ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }])
  })

  it('allows ptrace without CAP_SYS_PTRACE only on kernels where it cannot bypass the filter', () => {
    expect(allowed(docker)).toContain('ptrace')
    expect(allowed(defaultSeccomp(DEFAULT_CAPABILITIES, 'x64', '4.4.0-210-generic'))).not.toContain('ptrace')
  })

  it('takes the architecture\'s own calls and names', () => {
    const arm = defaultSeccomp(DEFAULT_CAPABILITIES, 'arm64', '6.1.0')
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'])
    expect(allowed(arm)).toContain('set_tls')
    expect(allowed(arm)).not.toContain('arch_prctl')
  })
})
