import { describe, expect, it } from 'vitest'
import { missingPackages } from '../../../../src/cli/commands/node/host-packages.ts'

describe('the packages containers need', () => {
  it('names each missing program with the Debian package that brings it', () => {
    expect(missingPackages(() => false)).toEqual([
      { what: 'an OCI runtime (runc)', package: 'runc' },
      { what: 'the CNI bridge plugin', package: 'containernetworking-plugins' },
      { what: 'the CNI host-local plugin', package: 'containernetworking-plugins' },
      { what: 'the CNI portmap plugin', package: 'containernetworking-plugins' },
      { what: 'iptables (published ports)', package: 'iptables' }
    ])
  })

  it('is content with crun in place of runc and plugins in /opt/cni/bin', () => {
    const present = new Set(['/usr/bin/crun', '/opt/cni/bin/bridge', '/opt/cni/bin/host-local', '/opt/cni/bin/portmap', '/usr/sbin/iptables'])
    expect(missingPackages(p => present.has(p))).toEqual([])
  })

  it('finds nothing missing on this machine, which runs containers in the tests', () => {
    expect(missingPackages()).toEqual([])
  })
})
