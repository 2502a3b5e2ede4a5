// The Debian packages containers and VMs need on this machine, so that `aurae up` names what is missing before a run
// fails.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isDynamic } from '../../../common/elf.ts'

/** A program containers or VMs need, and the Debian package that brings it. */
interface Needed { what: string, package: string, for: 'containers' | 'VMs', found: (has: (path: string) => boolean) => boolean }

const BIN_DIRS = ['/usr/bin', '/usr/local/bin', '/usr/sbin', '/usr/local/sbin', '/sbin', '/bin']
const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni']
const onPath = (has: (path: string) => boolean, bin: string): boolean => BIN_DIRS.some(d => has(join(d, bin)))
const cni = (plugin: string): Needed => ({ what: `the CNI ${plugin} plugin`, package: 'containernetworking-plugins', for: 'containers', found: has => CNI_DIRS.some(d => has(join(d, plugin))) })

const NEEDED: Needed[] = [
  { what: 'an OCI runtime (runc)', package: 'runc', for: 'containers', found: has => onPath(has, 'runc') || onPath(has, 'crun') },
  cni('bridge'),
  cni('host-local'),
  cni('portmap'),
  { what: 'iptables (published ports)', package: 'iptables', for: 'containers', found: has => onPath(has, 'iptables') },
  { what: 'qemu', package: 'qemu-system-x86', for: 'VMs', found: has => onPath(has, 'qemu-system-x86_64') },
  // The dynamic busybox would not run in a guest without libraries; busybox-static's replaces it.
  { what: 'a static busybox', package: 'busybox-static', for: 'VMs', found: has => has('/bin/busybox') && isStatic('/bin/busybox') }
]

/** Whether an existing program is linked statically (a missing one is not). */
function isStatic (path: string): boolean {
  try {
    return !isDynamic(readFileSync(path))
  } catch {
    return false
  }
}

/** What containers and VMs need that this machine lacks, each with its Debian package; empty when nothing is missing. */
export function missingPackages (has: (path: string) => boolean = existsSync): Array<{ what: string, package: string, for: 'containers' | 'VMs' }> {
  return NEEDED.filter(n => !n.found(has)).map(({ what, package: pkg, for: use }) => ({ what, package: pkg, for: use }))
}

/** One warning line naming what is missing, for what, and the apt-get that brings it. */
export function missingWarning (missing: Array<{ what: string, package: string, for: string }>): string {
  const needs = ['containers', 'VMs'].flatMap(use => {
    const what = missing.filter(m => m.for === use).map(m => m.what)
    return what.length > 0 ? [`${use} need ${what.join(', ')}`] : []
  })
  return `warning: ${needs.join('; ')}; install with: apt-get install ${[...new Set(missing.map(m => m.package))].join(' ')}\n`
}
