// The composition root: config, key material, store, runtime and the local API, wired explicitly.
import { Server, ServerCredentials } from '@grpc/grpc-js'
import { createHash } from 'node:crypto'
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FailedPreconditionError, messageOf } from '../errors.ts'
import { startAll, stopAll, type Part } from '../lifecycle.ts'
import { answers } from '../common/socket-probe.ts'
import { frameSocketOf } from '../common/call-frames.ts'
import { Mesh, createKey, loadKey, type NodeKey, type PeerRecord, type TokenRecord } from '../mesh/mesh.ts'
import { parseName } from '../names/parse.ts'
import { Cells } from '../runtime/cells.ts'
import { Machines, type MachineRecord } from '../runtime/vm/machines.ts'
import { NestedNodes } from './nested-nodes.ts'
import type { CellRecord } from '../runtime/cell.ts'
import type { OriginalCellRecord } from '../runtime/original-cell.ts'
import type { WorkloadRecord } from '../runtime/workload.ts'
import { Cgroups, removeNodeCgroups } from '../runtime/cgroups.ts'
import { executableDriver } from '../runtime/executable-driver.ts'
import { daemonSpace } from '../runtime/daemon-space.ts'
import { Supervisor } from '../runtime/supervisor.ts'
import { EventLog } from '../runtime/events.ts'
import { Store } from '../store/store.ts'
import { Api, grpcCaller } from './api/serve.ts'
import { serveFrames, type FrameServer } from './api/frame-socket.ts'
import { services } from './api/services.ts'
import { ContentStore } from '../runtime/image/content-store.ts'
import { Images, type ImageRecord } from '../runtime/image/images.ts'
import { rootsDir } from '../runtime/image/unpacked-roots.ts'
import { imageRoot, readyRootsDir } from '../runtime/container/rootfs.ts'
import { containerDriver } from '../runtime/container/container-driver.ts'
import { vmDriver } from '../runtime/vm/vm-driver.ts'
import { VmTemplates } from '../runtime/vm/templates.ts'
import { BridgeNetwork } from '../runtime/container/cni.ts'
import { authorize, type Caller } from './api/authz.ts'
import { initPki, serverMaterial } from '../common/pki.ts'
import type { TlsPaths } from '../common/node-defaults.ts'
import { VERSION, type NodePaths } from './config.ts'
import { DaemonLog } from './log.ts'

export interface DaemonOptions {
  paths: NodePaths
  /** Size at which a workload's log file rotates, and how many files of it are kept. */
  logMaxBytes?: number
  logFiles?: number
  /** Seconds a VM of an image has to start its workload before it is ended. */
  vmReadySeconds?: number
  /** Where VMs of images are saved for warm starts (runtime/vm/templates.ts); none: every VM boots. */
  vmTemplates?: string
  /** The mTLS socket and its certificates' directory; none: no mTLS socket. */
  tls?: TlsPaths
  /** Multiaddrs the mesh listens on. */
  listen: string[]
  /** Multiaddrs of nodes to join the mesh through. */
  bootstrap: string[]
  log?: DaemonLog
}

/** Node identity as registered by `aurae up` (kept in the store's meta as `node`). */
export interface NodeMeta {
  name: string
  domain: string
  peerId: string
  registeredAt: number
}

interface Runtime {
  supervisor: Supervisor
  cells: Cells
  machines: Machines
  cgroups: Cgroups
  mesh: Mesh
  images: Images
  network: BridgeNetwork
  /** Every long-lived part, in the order they started. */
  parts: Part[]
}

const MONITOR = fileURLToPath(new URL('../runtime/monitor/aurae-monitor', import.meta.url))

export class Daemon {
  readonly startedAt = Date.now()
  readonly version = VERSION
  key?: NodeKey
  meta?: NodeMeta
  private runtime?: Runtime
  /** Lifecycle events for `aurae events`, kept across the runtime's life. */
  private readonly events = new EventLog()
  private readonly server = new Server()
  /** The mTLS socket's server, serving the same handlers (opts.tls). */
  private readonly tlsServer = new Server()
  private frames?: FrameServer
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
    if (opts.tls !== undefined) await claimSocket(opts.tls.sock)
    const store = await Store.open(`${opts.paths.data}/store`)
    const daemon = new Daemon(opts, store, log)
    try {
      const meta = await store.getMeta<NodeMeta>('node')
      const key = await loadKey(opts.paths.key)
      if (meta !== undefined && key !== undefined) {
        if (key.peerId !== meta.peerId) throw new FailedPreconditionError(`the key at ${opts.paths.key} is not the one this node was registered with (${meta.peerId})`)
        daemon.key = key
        daemon.meta = meta
        await daemon.activate()
      }
      await daemon.listen()
    } catch (err) {
      await store.stop()
      throw err
    }
    log.write('info', 'auraed started', { state: daemon.state, sock: opts.paths.sock, tlsSock: opts.tls?.sock, pid: process.pid, name: daemon.meta?.name, peerId: daemon.key?.peerId })
    return daemon
  }

  get state (): 'uninitialized' | 'running' | 'stopping' {
    if (this.closing !== undefined) return 'stopping'
    return this.runtime === undefined ? 'uninitialized' : 'running'
  }

  /** The runtime; only reachable once the node is up (authorization refuses calls before). */
  get active (): Runtime {
    if (this.runtime === undefined) throw new FailedPreconditionError('this node is not initialized; run: aurae up NAME[@DOMAIN]')
    return this.runtime
  }

  /** Registers the node's name, creating the key on first use, and starts the runtime. */
  async up (name: string, domain: string, rename: boolean): Promise<{ outcome: 'created' | 'unchanged' | 'renamed', keyCreated: boolean }> {
    if (this.closing !== undefined) throw new FailedPreconditionError('auraed is shutting down; run aurae up again once it has stopped')
    const current = this.meta
    if (current !== undefined) {
      if (current.name === name && current.domain === domain) return { outcome: 'unchanged', keyCreated: false }
      if (!rename) {
        const was = current.domain === '' ? current.name : `${current.name}@${current.domain}`
        throw new FailedPreconditionError(`this node is already up as ${was}; use --rename to change its name`)
      }
    }
    let keyCreated = false
    let key = this.key ?? await loadKey(this.opts.paths.key)
    if (key === undefined) {
      key = await createKey(this.opts.paths.key)
      keyCreated = true
    }
    const meta = { name, domain, peerId: key.peerId, registeredAt: current?.registeredAt ?? Date.now() }
    this.key = key
    this.meta = meta
    // A node whose runtime could not start (its port taken) is not up: no name is recorded, and the next up tries again.
    try {
      if (this.runtime === undefined) await this.activate()
    } catch (err) {
      this.meta = current
      throw err
    }
    await this.store.setMeta('node', meta)
    this.log.write('info', current === undefined ? 'node is up' : 'node renamed', { name, domain, peerId: key.peerId, keyCreated })
    return { outcome: current === undefined ? 'created' : 'renamed', keyCreated }
  }

  /** Refuses new work, stops workloads (unless kept), then closes the store and the socket; `closed` resolves after. */
  async shutdown (stopWorkloads: boolean): Promise<number> {
    // From here on the gateway serves only what it serves before `up` (api/authz.ts: status, down, the daemon's
    // log; up itself refuses). Then, in order: the mesh (no call comes from peers or goes to them), the workloads
    // unless kept, the other parts in the reverse of their start (lifecycle.ts), the store, the server.
    this.closing ??= (async () => {
      this.log.write('info', 'auraed stopping', { stopWorkloads })
      const parts = this.runtime?.parts ?? []
      // The mesh started last, so it is the last part.
      await stopAll(parts.slice(-1), this.partFailed)
      const stopped = stopWorkloads ? await this.runtime?.supervisor.stopWorkloads() ?? 0 : 0
      await stopAll(parts.slice(0, -1), this.partFailed)
      if (this.runtime !== undefined) removeNodeCgroups(nodeKeyOf(this.opts.paths.data))
      // The store is closed before the Down call is answered: a daemon started right after finds it free, even
      // while this process is still on its way out.
      await this.store.stop().catch(err => this.partFailed('store', err))
      // Let the reply to a Down call go out before the server goes.
      setTimeout(() => {
        this.server.tryShutdown(() => {})
        this.tlsServer.tryShutdown(() => {})
        setTimeout(() => {
          this.server.forceShutdown()
          this.tlsServer.forceShutdown()
          this.frames?.close()
          try { unlinkSync(this.opts.paths.sock) } catch {}
          if (this.opts.tls !== undefined) try { unlinkSync(this.opts.tls.sock) } catch {}
          this.log.write('info', 'auraed stopped', { stopped })
          this.markClosed()
        }, 200)
      }, 20)
      return stopped
    })()
    return await this.closing
  }

  private readonly partFailed = (name: string, err: unknown): void => this.log.write('warn', `${name} stop failed`, { err: messageOf(err) })

  private async activate (): Promise<void> {
    const nodeKey = nodeKeyOf(this.opts.paths.data)
    const cgroups = Cgroups.detect(nodeKey)
    if (cgroups.version === 'none') this.log.write('warn', 'cells run without limits', { reason: cgroups.reason })
    let cells: Cells | undefined
    const content = new ContentStore(join(this.opts.paths.data, 'content'))
    const images = new Images(this.store.table<ImageRecord>('images'), content, this.opts.paths.data,
      async (image, onLayer, sources) => await imageRoot(image, content, rootsDir(this.opts.paths.data), onLayer, sources),
      image => this.events.add({ type: 'pulled', name: image.name, kind: 'image', timeMs: Date.now() }))
    const network = new BridgeNetwork(this.opts.paths.data, nodeKey)
    const supervisor = new Supervisor({
      workloads: this.store.table<WorkloadRecord>('workloads'),
      drivers: {
        executable: executableDriver({ cgroups, assertCell: name => { if (cells === undefined) throw new FailedPreconditionError(`cell ${name} is not allocated`); cells.assertHere(name) }, hidden: daemonSpace({ ...this.opts.paths, tls: this.opts.tls }) }),
        container: containerDriver({ images, content, cgroups, dataDir: this.opts.paths.data, nodeKey, network }),
        vm: vmDriver({ cgroups, network, nodeKey, images, content, dataDir: this.opts.paths.data, readySeconds: this.opts.vmReadySeconds,
          ...this.opts.vmTemplates !== undefined ? { templates: new VmTemplates(this.opts.vmTemplates, (level, line) => this.log.write(level, line)) } : {} })
      },
      cgroups,
      dataDir: this.opts.paths.data,
      monitorPath: MONITOR,
      logMaxBytes: this.opts.logMaxBytes,
      logFiles: this.opts.logFiles,
      log: this.log.write
    })
    this.events.watch(supervisor)
    const nested = new NestedNodes({ supervisor: () => supervisor, mesh: () => mesh, self: () => ({ name: this.meta?.name ?? '', domain: this.meta?.domain ?? '', peerId: this.key?.peerId ?? '' }), dataDir: this.opts.paths.data })
    cells = new Cells(this.store.table<CellRecord>('cells'), this.store.table<OriginalCellRecord>('original-cells'), cgroups, () => supervisor, nested)
    supervisor.on('change', rec => { nested.refresh(rec).catch(err => this.log.write('warn', 'could not keep a nested node\'s address', { name: rec.spec.name, err: messageOf(err) })) })
    const machines = new Machines(this.store.table<MachineRecord>('vms'), () => supervisor)
    const key = this.key as NodeKey
    const mesh = new Mesh({
      key,
      listen: this.opts.listen,
      bootstrap: this.opts.bootstrap,
      peers: this.store.table<PeerRecord>('peers'),
      tokens: this.store.table<TokenRecord>('tokens'),
      self: () => ({ name: this.meta?.name ?? '', domain: this.meta?.domain ?? '' }),
      dispatch: async (path, payload, caller, send, signal, input) => await this.api.dispatch(path, payload, caller, send, signal, input),
      log: this.log.write
    })
    // Cells before the supervisor (a re-adopted workload's restart needs its cell), the mesh last (calls from peers
    // reach the rest).
    const parts: Part[] = [['content store', content], ['network', network], ['cells', cells], ['supervisor', supervisor], ['machines', machines], ['mesh', mesh]]
    // As the content store clears its ingest files, roots an unpack was making when the daemon was killed go.
    await readyRootsDir(rootsDir(this.opts.paths.data))
    try {
      await startAll(parts, this.partFailed)
    } catch (err) {
      // A start that failed (a port in use) leaves no cgroup folders behind: holding the store, this daemon is the
      // only one of this node.
      removeNodeCgroups(nodeKey)
      throw err
    }
    this.runtime = { supervisor, cells, machines, cgroups, mesh, images, network, parts }
  }

  private readonly api = new Api({
    authorize: (who, rule, target) => authorize(who, rule, target, {
      initialized: this.runtime !== undefined,
      stopping: this.closing !== undefined,
      // A nested node is called into, never served: a guest's workloads must not reach their host's API.
      trusts: peerId => this.runtime?.mesh.mayCall(peerId) === true,
      selfName: this.meta?.name ?? 'this node'
    }),
    locate: target => {
      if (target === '') return { local: true, entity: '' }
      const { entity, peer, domain } = parseName(target)
      const self = this.meta
      if (peer === '' || (peer === self?.name && (domain === '' || domain === self.domain))) return { local: true, entity }
      return { local: false, peer: domain === '' ? peer : `${peer}@${domain}` }
    },
    forward: async (peer, path, payload, onPayload, signal, input) => await this.active.mesh.forward(peer, path, payload, onPayload, signal, input),
    onError: (method, err) => this.log.write('error', 'request failed', { method, err: err instanceof Error ? err.stack : String(err) })
  })

  /** Binds the mTLS socket, making its certificates on first start. */
  private async listenTls (): Promise<void> {
    const tls = this.opts.tls
    if (tls === undefined) return
    if (await initPki(tls.pki) === 'created') this.log.write('info', 'made a CA and the mTLS socket\'s server certificate', { pki: tls.pki })
    const { ca, cert, key } = serverMaterial(tls.pki)
    await new Promise<void>((resolve, reject) => {
      this.tlsServer.bindAsync(`unix:${tls.sock}`, ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], true),
        err => err === null ? resolve() : reject(new FailedPreconditionError(`cannot listen on ${tls.sock}: ${err.message}`)))
    })
    chmodSync(tls.sock, 0o600)
  }

  private async listen (): Promise<void> {
    const caller: Caller = { kind: 'local', uid: process.getuid?.() ?? 0 }
    const all = services({
      daemon: this,
      supervisor: () => this.active.supervisor,
      cells: () => this.active.cells,
      machines: () => this.active.machines,
      images: () => this.active.images,
      mesh: () => this.active.mesh,
      ownDomain: () => this.meta?.domain ?? '',
      ownName: () => this.meta?.name ?? '',
      log: this.log,
      events: () => this.events
    })
    const callerOf = grpcCaller(caller)
    for (const s of all) {
      const impl = this.api.add(s.name, s.definition, s.handlers, callerOf)
      this.server.addService(s.definition, impl)
      this.tlsServer.addService(s.definition, impl)
    }
    // Before the owner-only socket: a client that finds that answering (as `aurae up` waits for it) finds this too.
    await this.listenTls()
    const sock = this.opts.paths.sock
    // The frame socket first: a client that finds the main socket answering (as `aurae up` waits for it) finds the
    // frame socket listening too, not a stale one a killed daemon left.
    const frames = frameSocketOf(sock)
    this.frames = await serveFrames(frames, this.api, caller).catch(err => {
      throw new FailedPreconditionError(`cannot listen on ${frames}: ${messageOf(err)}`)
    })
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
  if (await answers(path)) throw new FailedPreconditionError(`auraed is already running on ${path}`)
  try {
    unlinkSync(path)
  } catch (err) {
    throw new FailedPreconditionError(`cannot remove the stale socket ${path}: ${messageOf(err)}`)
  }
}

/** The node's key among others on this machine (its cgroups, bridge and network): from its data dir. */
function nodeKeyOf (dataDir: string): string {
  return createHash('sha256').update(dataDir).digest('hex').slice(0, 12)
}
