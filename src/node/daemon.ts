// The composition root: config, key material, store, runtime and the local API, wired explicitly.
import { Server, ServerCredentials } from '@grpc/grpc-js'
import { createHash } from 'node:crypto'
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs'
import { createConnection } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FailedPreconditionError, messageOf } from '../errors.ts'
import { CellServiceService } from '../gen/aurae/cells/v0/cells.ts'
import { NodeServiceService } from '../gen/aurae/node/v0/node.ts'
import { MeshServiceService } from '../gen/aurae/mesh/v0/mesh.ts'
import { Mesh } from '../mesh/mesh.ts'
import { parseName } from '../names/parse.ts'
import { Cells } from '../runtime/cells.ts'
import { Cgroups } from '../runtime/cgroups.ts'
import { executableDriver } from '../runtime/executable-driver.ts'
import { daemonSpace } from '../runtime/daemon-space.ts'
import { Supervisor } from '../runtime/supervisor.ts'
import { Store, type NodeMeta } from '../store/store.ts'
import { cellHandlers } from './api/cells.ts'
import { nodeHandlers } from './api/node.ts'
import { ObserveService } from './api/log-response.ts'
import { observeHandlers } from './api/observe.ts'
import { Api } from './api/serve.ts'
import { meshHandlers } from './api/mesh.ts'
import { imageHandlers } from './api/images.ts'
import { ImageServiceService } from '../gen/aurae/images/v0/images.ts'
import { ContentStore } from '../runtime/image/content-store.ts'
import { Images } from '../runtime/image/images.ts'
import { containerDriver } from '../runtime/container/container-driver.ts'
import { BridgeNetwork } from '../runtime/container/cni.ts'
import { workloadHandlers } from './api/workloads.ts'
import { WorkloadService } from './api/run-response.ts'
import { authorize, type Caller } from './authz.ts'
import type { NodePaths } from './config.ts'
import { createKey, loadKey, type NodeKey } from './keys.ts'
import { DaemonLog } from './log.ts'

export interface DaemonOptions {
  paths: NodePaths
  /** Size at which a workload's log file rotates, and how many files of it are kept. */
  logMaxBytes?: number
  logFiles?: number
  /** Multiaddrs the mesh listens on. */
  listen: string[]
  /** Multiaddrs of nodes to join the mesh through. */
  bootstrap: string[]
  log?: DaemonLog
}

interface Runtime {
  supervisor: Supervisor
  cells: Cells
  cgroups: Cgroups
  mesh: Mesh
  images: Images
  network: BridgeNetwork
}

const MONITOR = fileURLToPath(new URL('../runtime/monitor/aurae-monitor', import.meta.url))

export class Daemon {
  readonly startedAt = Date.now()
  key?: NodeKey
  meta?: NodeMeta
  private runtime?: Runtime
  private readonly server = new Server()
  private closing?: Promise<number>
  private markClosed: () => void = () => {}
  /** Resolves once shutdown has closed everything. */
  readonly closed = new Promise<void>(resolve => { this.markClosed = resolve })

  private constructor (readonly opts: DaemonOptions, readonly store: Store, readonly log: DaemonLog) {}

  /** Opens the store, binds the socket and, if the node has key material and a name, starts the runtime. */
  static async start (opts: DaemonOptions): Promise<Daemon> {
    const log = opts.log ?? new DaemonLog()
    process.umask(0o077)
    mkdirSync(opts.paths.data, { recursive: true, mode: 0o700 })
    await claimSocket(opts.paths.sock)
    const store = await Store.open(`${opts.paths.data}/store`)
    const daemon = new Daemon(opts, store, log)
    try {
      const meta = await store.node()
      const key = loadKey(opts.paths.key)
      if (meta !== undefined && key !== undefined) {
        if (key.peerId !== meta.peerId) throw new FailedPreconditionError(`the key at ${opts.paths.key} is not the one this node was registered with (${meta.peerId})`)
        daemon.key = key
        daemon.meta = meta
        await daemon.activate()
      }
      await daemon.listen()
    } catch (err) {
      await store.close()
      throw err
    }
    log.write('info', 'auraed started', { state: daemon.state, sock: opts.paths.sock, pid: process.pid, name: daemon.meta?.name, peerId: daemon.key?.peerId })
    return daemon
  }

  get state (): 'uninitialized' | 'running' {
    return this.runtime === undefined ? 'uninitialized' : 'running'
  }

  /** The runtime; only reachable once the node is up (authorization refuses calls before). */
  get active (): Runtime {
    if (this.runtime === undefined) throw new FailedPreconditionError('this node is not initialized; run: aurae up NAME[@DOMAIN]')
    return this.runtime
  }

  /** Registers the node's name, creating the key on first use, and starts the runtime. */
  async up (name: string, domain: string, rename: boolean): Promise<{ outcome: 'created' | 'unchanged' | 'renamed', keyCreated: boolean }> {
    const current = this.meta
    if (current !== undefined) {
      if (current.name === name && current.domain === domain) return { outcome: 'unchanged', keyCreated: false }
      if (!rename) {
        const was = current.domain === '' ? current.name : `${current.name}@${current.domain}`
        throw new FailedPreconditionError(`this node is already up as ${was}; use --rename to change its name`)
      }
    }
    let keyCreated = false
    let key = this.key ?? loadKey(this.opts.paths.key)
    if (key === undefined) {
      key = createKey(this.opts.paths.key)
      keyCreated = true
    }
    const meta = { name, domain, peerId: key.peerId, registeredAt: current?.registeredAt ?? Date.now() }
    await this.store.setNode(meta)
    this.key = key
    this.meta = meta
    if (this.runtime === undefined) await this.activate()
    this.log.write('info', current === undefined ? 'node is up' : 'node renamed', { name, domain, peerId: key.peerId, keyCreated })
    return { outcome: current === undefined ? 'created' : 'renamed', keyCreated }
  }

  /** Refuses new work, stops workloads (unless kept), then closes the socket and store; `closed` resolves after. */
  async shutdown (stopWorkloads: boolean): Promise<number> {
    this.closing ??= (async () => {
      this.log.write('info', 'auraed stopping', { stopWorkloads })
      const stopped = await this.runtime?.supervisor.stop({ stopWorkloads }) ?? 0
      if (stopWorkloads) await this.runtime?.network.remove()
      await this.runtime?.mesh.stop().catch(err => this.log.write('warn', 'mesh stop failed', { err: messageOf(err) }))
      // Let the reply to a Down call go out before the server goes.
      setTimeout(() => {
        this.server.tryShutdown(() => {})
        setTimeout(() => {
          this.server.forceShutdown()
          try { unlinkSync(this.opts.paths.sock) } catch {}
          this.log.write('info', 'auraed stopped', { stopped })
          void this.store.close().finally(() => this.markClosed())
        }, 200)
      }, 20)
      return stopped
    })()
    return await this.closing
  }

  private async activate (): Promise<void> {
    const nodeKey = createHash('sha256').update(this.opts.paths.data).digest('hex').slice(0, 12)
    const cgroups = Cgroups.detect(nodeKey)
    if (cgroups.version === 'none') this.log.write('warn', 'cells run without limits', { reason: cgroups.reason })
    let cells: Cells | undefined
    const content = new ContentStore(join(this.opts.paths.data, 'content'))
    await content.open()
    const images = new Images(this.store.images, content, this.opts.paths.data)
    const network = new BridgeNetwork(this.opts.paths.data, nodeKey)
    const supervisor = new Supervisor({
      workloads: this.store.workloads,
      drivers: [
        executableDriver({ cgroups, cellExists: name => cells?.has(name) === true, hidden: daemonSpace(this.opts.paths) }),
        containerDriver({ images, content, cgroups, dataDir: this.opts.paths.data, nodeKey, network })
      ],
      cgroups,
      dataDir: this.opts.paths.data,
      monitorPath: MONITOR,
      logMaxBytes: this.opts.logMaxBytes,
      logFiles: this.opts.logFiles,
      log: this.log.write
    })
    cells = new Cells(this.store.cells, cgroups, () => supervisor)
    await cells.load()
    const key = this.key as NodeKey
    const mesh = new Mesh({
      key,
      keyPath: this.opts.paths.key,
      listen: this.opts.listen,
      bootstrap: this.opts.bootstrap,
      store: this.store,
      self: () => ({ name: this.meta?.name ?? '', domain: this.meta?.domain ?? '' }),
      dispatch: async (path, payload, caller, send, signal) => await this.api.dispatch(path, payload, caller, send, signal),
      log: this.log.write
    })
    await mesh.start()
    await supervisor.start()
    this.runtime = { supervisor, cells, cgroups, mesh, images, network }
  }

  private readonly api = new Api({
    authorize: (who, method, target) => authorize(who, method, target, {
      initialized: this.runtime !== undefined,
      trusts: peerId => this.runtime?.mesh.trusts(peerId) === true,
      selfName: this.meta?.name ?? 'this node'
    }),
    locate: target => {
      if (target === '') return { local: true, entity: '' }
      const { entity, peer, domain } = parseName(target)
      const self = this.meta
      if (peer === '' || (peer === self?.name && (domain === '' || domain === self.domain))) return { local: true, entity }
      return { local: false, peer: domain === '' ? peer : `${peer}@${domain}` }
    },
    forward: async (peer, path, payload, onPayload, signal) => await this.active.mesh.forward(peer, path, payload, onPayload, signal),
    onError: (method, err) => this.log.write('error', 'request failed', { method, err: err instanceof Error ? err.stack : String(err) })
  })

  private async listen (): Promise<void> {
    const caller: Caller = { kind: 'local', uid: process.getuid?.() ?? 0 }
    const supervisor = (): Supervisor => this.active.supervisor
    this.server.addService(NodeServiceService, this.api.add('node', NodeServiceService, nodeHandlers(this), caller))
    this.server.addService(WorkloadService, this.api.add('workloads', WorkloadService, workloadHandlers(supervisor), caller))
    this.server.addService(CellServiceService, this.api.add('cells', CellServiceService, cellHandlers(() => this.active.cells, supervisor), caller))
    this.server.addService(ObserveService, this.api.add('observe', ObserveService, observeHandlers(supervisor, this.log), caller))
    this.server.addService(ImageServiceService, this.api.add('images', ImageServiceService, imageHandlers(() => this.active.images), caller))
    this.server.addService(MeshServiceService, this.api.add('mesh', MeshServiceService, meshHandlers(() => this.active.mesh, () => this.meta?.domain ?? ''), caller))
    const sock = this.opts.paths.sock
    await new Promise<void>((resolve, reject) => {
      this.server.bindAsync(`unix:${sock}`, ServerCredentials.createInsecure(), err => err === null ? resolve() : reject(new FailedPreconditionError(`cannot listen on ${sock}: ${err.message}`)))
    })
    chmodSync(sock, 0o600)
  }
}

/** Makes way for our socket: refuses if a daemon answers there, removes a stale one. */
async function claimSocket (path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true })
  let isSocket: boolean
  try {
    isSocket = lstatSync(path).isSocket()
  } catch {
    return
  }
  if (!isSocket) throw new FailedPreconditionError(`${path} exists and is not a socket`)
  const answered = await new Promise<boolean>(resolve => {
    const c = createConnection(path)
    c.once('connect', () => { c.destroy(); resolve(true) })
    c.once('error', () => resolve(false))
  })
  if (answered) throw new FailedPreconditionError(`auraed is already running on ${path}`)
  try {
    unlinkSync(path)
  } catch (err) {
    throw new FailedPreconditionError(`cannot remove the stale socket ${path}: ${messageOf(err)}`)
  }
}
