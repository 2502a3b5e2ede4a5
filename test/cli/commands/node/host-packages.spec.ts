import { describe, expect, it } from 'vitest'
import { missingPackages, missingWarning } from '../../../../src/cli/commands/node/host-packages.ts'

describe('the packages containers and VMs need', () => {
  it('names each missing program with the Debian package that brings it, and what needs it', () => {
    const missing = missingPackages(() => false)
    expect(missing).toEqual([
      { what: 'an OCI runtime (runc)', package: 'runc', for: 'containers' },
      { what: 'the CNI bridge plugin', package: 'containernetworking-plugins', for: 'containers' },
      { what: 'the CNI host-local plugin', package: 'containernetworking-plugins', for: 'containers' },
      { what: 'the CNI portmap plugin', package: 'containernetworking-plugins', for: 'containers' },
      { what: 'iptables (published ports)', package: 'iptables', for: 'containers' },
      { what: 'qemu', package: 'qemu-system-x86', for: 'VMs' },
      { what: 'a static busybox', package: 'busybox-static', for: 'VMs' }
    ])
    expect(missingWarning(missing.slice(4))).toBe('warning: containers need iptables (published ports); VMs need qemu, a static busybox; install with: apt-get install iptables qemu-system-x86 busybox-static\n')
  })

  it('is content with crun in place of runc and plugins in /opt/cni/bin, and VMs with qemu and a static busybox', () => {
    const present = new Set(['/usr/bin/crun', '/opt/cni/bin/bridge', '/opt/cni/bin/host-local', '/opt/cni/bin/portmap', '/usr/sbin/iptables', '/usr/bin/qemu-system-x86_64', '/bin/busybox'])
    expect(missingPackages(p => present.has(p))).toEqual([])
  })

  it('finds nothing missing on this machine, which runs containers and VMs in the tests', () => {
    expect(missingPackages()).toEqual([])
  })
})
