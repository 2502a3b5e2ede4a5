// Nested nodes: VMs whose guest runs this project's auraed, named by their host and trusted both ways without a
// token (the host makes the guest's key, so it knows the guest's PeerId before it boots, and tells the guest its
// own). The host reaches the guest's auraed over the mesh, at the guest's address on the node's bridge, so
// `job@NAME` goes to it as to any peer's; the guest trusts its host alone, and listens only on the bridge.
import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { FailedPreconditionError, messageOf } from '../errors.ts'
import { createKey, loadKey, type Mesh, type NodeKey } from '../mesh/mesh.ts'
import type { Limits } from '../runtime/limits.ts'
import type { Supervisor } from '../runtime/supervisor.ts'
import { NESTED_PORT } from '../runtime/vm/vm-driver.ts'
import type { VmSpec, WorkloadRecord } from '../runtime/workload.ts'
import { formatNodeName } from '../names/parse.ts'

/** How long a nested node's auraed has to answer its host after the VM started (it boots Node under emulation). */
const READY_MS = 120_000

export interface NestedNodesInit {
  supervisor: () => Supervisor
  mesh: () => Mesh
  /** The host: its name, domain and PeerId. */
  self: () => { name: string, domain: string, peerId: string }
  dataDir: string
}

export class NestedNodes {
  constructor (private readonly init: NestedNodesInit) {}

  /** Where the guest's key is kept on the host (daemon space, beside the node's data). */
  private keyOf (name: string): string {
    return join(this.init.dataDir, 'nested', name, 'id_aura')
  }

  /** The workload NAME, if it is a nested node. */
  nodeOf (name: string): WorkloadRecord | undefined {
    const s = this.init.supervisor()
    if (!s.has(name)) return undefined
    const rec = s.get(name)
    return rec.spec.kind === 'vm' && rec.spec.node !== undefined ? rec : undefined
  }

  /**
   * Boots the nested node NAME and waits until its auraed answers its host; one that does not within READY_MS (or
   * ends first) is stopped and removed, and the error says what its console said last.
   */
  async start (name: string, limits: Limits): Promise<WorkloadRecord> {
    const self = this.init.self()
    const key = await this.guestKey(name)
    const spec: VmSpec = {
      kind: 'vm',
      name,
      command: [],
      env: {},
      workdir: '',
      limits,
      restart: 'no',
      cell: '',
      container: { image: '', user: '', network: 'bridge', volumes: [], ports: [] },
      node: { key: this.keyOf(name), up: formatNodeName(name, self.domain), trust: `${self.peerId}=${formatNodeName(self.name, self.domain)}` }
    }
    const rec = await this.init.supervisor().run(spec)
    try {
      if (rec.address === undefined || rec.address === '') throw new FailedPreconditionError(`the nested node ${name} has no address on the node's bridge`)
      await this.adopt(name, key.peerId, rec.address)
      await this.ready(name, key.peerId)
    } catch (err) {
      // Its console goes with it: what it said last goes into the error.
      const said = await readFile(this.init.supervisor().consolePath(name) ?? '', 'utf8').catch(() => '')
      const last = said.split('\n').map(l => l.trim()).filter(Boolean).slice(-2).join('; ')
      await this.remove(name).catch(() => {})
      throw last === '' ? err : new FailedPreconditionError(`${messageOf(err)}; its console said last: ${last}`)
    }
    return this.init.supervisor().get(name)
  }

  /** Stops the nested node (gently, within its stop timeout), forgets it and its key, and withdraws the host's trust. */
  async remove (name: string): Promise<void> {
    const key = await loadKey(this.keyOf(name)).catch(() => undefined)
    if (key !== undefined && this.init.mesh().trusts(key.peerId)) await this.init.mesh().disown(key.peerId)
    // Its power button first: the guest's auraed stops its workloads before the guest powers off.
    if (this.nodeOf(name)?.state === 'running') await this.init.supervisor().stopWorkload(name)
    if (this.nodeOf(name) !== undefined) await this.init.supervisor().remove(name, true)
    await rm(join(this.init.dataDir, 'nested', name), { recursive: true, force: true })
  }

  /** Trusts the guest's auraed at its address on the bridge: called into, never served (PeerRecord.nested). */
  private async adopt (name: string, peerId: string, address: string): Promise<void> {
    await this.init.mesh().adopt({ peerId, name, domain: this.init.self().domain, addrs: [`/ip4/${address}/tcp/${NESTED_PORT}`], trustedAt: Date.now(), nested: true })
  }

  /**
   * Keeps the host's record of a nested node's address as its VM starts again (a restart, a daemon's re-adoption):
   * each start may take another address on the bridge.
   */
  async refresh (rec: WorkloadRecord): Promise<void> {
    // Before the mesh runs (a daemon's start re-adopting the VM), the address kept with the trust stands.
    if (rec.spec.kind !== 'vm' || rec.spec.node === undefined || rec.state !== 'running' || rec.address === undefined || !this.init.mesh().running) return
    const key = await loadKey(this.keyOf(rec.spec.name)).catch(() => undefined)
    if (key === undefined) return
    const known = this.init.mesh().trusts(key.peerId) ? this.init.mesh().lookup(key.peerId).addrs : []
    if (!known.includes(`/ip4/${rec.address}/tcp/${NESTED_PORT}`)) await this.adopt(rec.spec.name, key.peerId, rec.address)
  }

  /** The guest's key: kept across its boots (its PeerId is what the host trusts), made the first time. */
  private async guestKey (name: string): Promise<NodeKey> {
    const path = this.keyOf(name)
    return existsSync(path) ? await loadKey(path) as NodeKey : await createKey(path)
  }

  /** Resolves once the host has a connection to the guest's auraed; throws once READY_MS has passed or the VM ended. */
  private async ready (name: string, peerId: string): Promise<void> {
    const deadline = Date.now() + READY_MS
    let last = ''
    while (Date.now() < deadline) {
      const rec = this.nodeOf(name)
      if (rec === undefined || rec.state !== 'running') throw new FailedPreconditionError(`the nested node ${name} ended before its auraed answered${rec?.error !== undefined && rec.error !== '' ? `: ${rec.error}` : ''}`)
      try {
        await this.init.mesh().connect(peerId, AbortSignal.timeout(5_000))
        return
      } catch (err) {
        last = messageOf(err)
      }
      await sleep(500)
    }
    throw new FailedPreconditionError(`the nested node ${name}'s auraed did not answer within ${READY_MS / 1000} s (${last})`)
  }
}
