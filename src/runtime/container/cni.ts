// Container networking with the standard CNI plugins (Debian's containernetworking-plugins):
// a bridge with host-local addresses, and portmap for published ports.
import { execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { FailedPreconditionError, InternalError } from '../../errors.ts'
import type { Component } from '../../lifecycle.ts'
import type { PortMapping } from '../../common/ports.ts'
import { CLAIMS_DIR, claimSubnet, type SubnetClaim } from './subnets.ts'

const run = promisify(execFile)
const PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni']
/** Where `ip netns` keeps the named network namespaces, one per attached container. */
const NETNS_DIR = '/var/run/netns'

/** One node's bridge network: its own bridge and /24, so several nodes on a machine do not collide. */
export class BridgeNetwork implements Component {
  private readonly name: string
  private readonly bridge: string
  private readonly preferred: number
  private claim?: SubnetClaim
  private readonly pluginDir: string | undefined

  constructor (private readonly dataDir: string, nodeKey: string, private readonly claimsDir = CLAIMS_DIR) {
    this.name = `aurae-${nodeKey}`
    this.bridge = `aur${nodeKey.slice(0, 8)}`
    this.preferred = parseInt(nodeKey.slice(0, 2), 16)
    this.pluginDir = PLUGIN_DIRS.find(d => existsSync(join(d, 'bridge')))
  }

  netnsPath (id: string): string {
    return join(NETNS_DIR, id)
  }

  /** Makes the container's network namespace, wires it to the bridge, and publishes its ports. */
  async attach (id: string, ports: PortMapping[]): Promise<string> {
    if (this.pluginDir === undefined) throw new FailedPreconditionError('bridge networking needs the CNI plugins (Debian: containernetworking-plugins)')
    await this.detach(id, ports)
    await run('ip', ['netns', 'add', id])
    try {
      await this.invoke('ADD', id, this.loopback())
      const result = await this.invoke('ADD', id, this.bridgeConf())
      if (ports.length > 0) await this.invoke('ADD', id, this.portmapConf(ports, result))
    } catch (err) {
      await this.detach(id, ports)
      throw err
    }
    return this.netnsPath(id)
  }

  /** Undoes attach; safe to call for a container that was never (or only partly) attached. */
  async detach (id: string, ports: PortMapping[]): Promise<void> {
    if (!existsSync(this.netnsPath(id))) return
    if (ports.length > 0) await this.invoke('DEL', id, this.portmapConf(ports, {})).catch(() => {})
    await this.invoke('DEL', id, this.bridgeConf()).catch(() => {})
    await run('ip', ['netns', 'del', id]).catch(() => {})
  }

  /** The node's subnet, claimed against the other nodes on this machine; the first attach makes the bridge. */
  get subnet (): string {
    this.claim ??= claimSubnet(this.dataDir, this.bridge, this.preferred, this.claimsDir)
    return this.claim.subnet
  }

  async start (): Promise<void> {}

  /** Removes the bridge once no container of this node uses it (workloads kept by a shutdown still do); attach makes it again. */
  async stop (): Promise<void> {
    let namespaces: string[]
    try {
      namespaces = readdirSync(NETNS_DIR)
    } catch {
      namespaces = []
    }
    if (namespaces.some(ns => ns.startsWith(`${this.name}-`))) return
    await run('ip', ['link', 'del', this.bridge]).catch(() => {})
    this.claim?.release()
    this.claim = undefined
  }

  private loopback (): object {
    return { cniVersion: '1.0.0', name: 'lo', type: 'loopback' }
  }

  private bridgeConf (): object {
    return {
      cniVersion: '1.0.0',
      name: this.name,
      type: 'bridge',
      bridge: this.bridge,
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: this.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(this.dataDir, 'cni', 'ipam') }
    }
  }

  private portmapConf (ports: PortMapping[], prevResult: object): object {
    return {
      cniVersion: '1.0.0',
      name: this.name,
      type: 'portmap',
      capabilities: { portMappings: true },
      snat: true,
      runtimeConfig: { portMappings: ports.map(p => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, ...(p.hostIP !== '' ? { hostIP: p.hostIP } : {}) })) },
      prevResult
    }
  }

  private async invoke (command: 'ADD' | 'DEL', id: string, conf: object): Promise<object> {
    const type = (conf as { type: string }).type
    await mkdir(join(this.dataDir, 'cni', 'ipam'), { recursive: true })
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: id,
      CNI_NETNS: this.netnsPath(id),
      CNI_IFNAME: type === 'loopback' ? 'lo' : 'eth0',
      CNI_PATH: this.pluginDir as string
    }
    return await new Promise((resolve, reject) => {
      const child = spawn(join(this.pluginDir as string, type), [], { env, stdio: ['pipe', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.on('data', d => { out += String(d) })
      child.stderr.on('data', d => { err += String(d) })
      child.on('error', e => reject(new InternalError(`CNI ${type}: ${e.message}`)))
      child.on('close', code => {
        if (code === 0) {
          try { resolve(out.trim() === '' ? {} : JSON.parse(out)) } catch { resolve({}) }
          return
        }
        let msg = err.trim() || out.trim()
        try { msg = JSON.parse(out).msg ?? msg } catch {}
        reject(new InternalError(`CNI ${type} ${command} failed: ${msg}`))
      })
      child.stdin.end(JSON.stringify(conf))
    })
  }
}
