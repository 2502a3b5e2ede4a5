// The files a container's names come from (/etc/hosts, /etc/hostname, /etc/resolv.conf), written by the node
// and bound read-only into the container: readable by every user in it, as Docker writes them.
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Where systemd-resolved lists the servers its stub at 127.0.0.53 forwards to. */
const RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf'
/** Docker's servers for a container whose host knows none it can reach. */
const FALLBACK = 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n'

const isLoopback = (address: string): boolean => /^127\./.test(address) || address === '::1'
const nameservers = (conf: string): string[] => [...conf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map(m => m[1])

/**
 * The resolv.conf a container in a network namespace of its own gets: the host's, without servers on the host's
 * loopback (a stub such as systemd-resolved's is not there in the container); the stub's upstream servers
 * (`upstream`) in their place when the host's names no other, Docker's fallback when nothing is left.
 */
export function containerResolvConf (host: string, upstream: string): string {
  if (!nameservers(host).some(isLoopback)) return host
  const kept = host.split('\n').filter(l => !/^\s*nameserver\s/.test(l) || !isLoopback(nameservers(l)[0] ?? '')).join('\n')
  if (nameservers(kept).length > 0) return kept
  const others = nameservers(upstream).filter(a => !isLoopback(a))
  const servers = others.length > 0 ? others.map(a => `nameserver ${a}\n`).join('') : FALLBACK
  return `${servers}${kept.trim() === '' ? '' : `${kept.trim()}\n`}`
}

/** What a container's name files are, by the path in the container, as host files in its bundle. */
export interface EtcFiles {
  hosts: string
  hostname: string
  resolvConf: string
}

/** What a workload's name files say (a container's, bound in; a VM's, written into its root), by their file name in /etc. */
export async function etcTexts (name: string, network: 'bridge' | 'none' | 'host'): Promise<{ hosts: string, hostname: string, 'resolv.conf': string }> {
  const read = async (path: string): Promise<string> => await readFile(path, 'utf8').catch(() => '')
  const host = await read('/etc/resolv.conf')
  return {
    hosts: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${name}\n`,
    hostname: `${name}\n`,
    'resolv.conf': network === 'none' ? '' : network === 'host' ? host : containerResolvConf(host, await read(RESOLVED_UPSTREAM))
  }
}

/** Writes the container's name files into `bundle`, mode 0644 whatever the daemon's umask (0077). */
export async function writeEtcFiles (bundle: string, name: string, network: 'bridge' | 'none' | 'host'): Promise<EtcFiles> {
  const texts = await etcTexts(name, network)
  const write = async (file: keyof typeof texts): Promise<string> => {
    const path = join(bundle, file)
    await writeFile(path, texts[file])
    await chmod(path, 0o644)
    return path
  }
  return { hosts: await write('hosts'), hostname: await write('hostname'), resolvConf: await write('resolv.conf') }
}
