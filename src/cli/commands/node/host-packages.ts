// The Debian packages containers need on this machine, so that `aurae up` names what is missing before a run fails.
import { existsSync } from 'node:fs'
import { join } from 'node:path'

/** A program containers need, and the Debian package that brings it. */
interface Needed { what: string, package: string, found: (has: (path: string) => boolean) => boolean }

const BIN_DIRS = ['/usr/bin', '/usr/local/bin', '/usr/sbin', '/usr/local/sbin', '/sbin', '/bin']
const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni']
const onPath = (has: (path: string) => boolean, bin: string): boolean => BIN_DIRS.some(d => has(join(d, bin)))
const cni = (plugin: string): Needed => ({ what: `the CNI ${plugin} plugin`, package: 'containernetworking-plugins', found: has => CNI_DIRS.some(d => has(join(d, plugin))) })

const NEEDED: Needed[] = [
  { what: 'an OCI runtime (runc)', package: 'runc', found: has => onPath(has, 'runc') || onPath(has, 'crun') },
  cni('bridge'),
  cni('host-local'),
  cni('portmap'),
  { what: 'iptables (published ports)', package: 'iptables', found: has => onPath(has, 'iptables') }
]

/** What containers need that this machine lacks, each with its Debian package; empty when nothing is missing. */
export function missingPackages (has: (path: string) => boolean = existsSync): Array<{ what: string, package: string }> {
  return NEEDED.filter(n => !n.found(has)).map(({ what, package: pkg }) => ({ what, package: pkg }))
}
