// The node's level database: typed sub-stores over one crash-safe database, with a schema version.
import { Level } from 'level'
import { FailedPreconditionError } from '../errors.ts'
import type { WorkloadRecord } from '../runtime/workload.ts'
import type { CellRecord } from '../runtime/cell.ts'
import type { ImageRecord } from '../runtime/image/images.ts'
import { WriteGuard } from './write-guard.ts'

/** Bumped whenever stored shapes change; MIGRATIONS[n] moves a database from version n to n+1. */
export const SCHEMA_VERSION = 1

type Db = Level<string, any>
const MIGRATIONS: Array<(db: Db) => Promise<void>> = [
  async () => {} // 0 → 1: a new database; nothing to move.
]

/** Node identity as registered by `aurae up`. */
export interface NodeMeta {
  name: string
  domain: string
  peerId: string
  registeredAt: number
}

/** A node this one trusts, as recorded when the two peered. */
export interface PeerRecord {
  peerId: string
  name: string
  domain: string
  addrs: string[]
  trustedAt: number
}

/** A peering token this node issued, by the hash of its secret. */
export interface TokenRecord {
  id: string
  usesLeft: number
  expiresAt: number
}

type Sublevel = ReturnType<Db['sublevel']>

/** A typed view of one sub-level, keyed by name. */
export class Table<T> {
  constructor (readonly db: Sublevel, private readonly guard: WriteGuard<Sublevel>) {}

  async get (key: string): Promise<T | undefined> {
    return await this.guard.read(async () => await this.db.get(key) as T | undefined)
  }

  async put (key: string, value: T): Promise<void> {
    await this.guard.write({ type: 'put', sublevel: this.db, key, value })
  }

  async del (key: string): Promise<void> {
    await this.guard.write({ type: 'del', sublevel: this.db, key })
  }

  async values (): Promise<T[]> {
    return await this.guard.read(async () => await this.db.values().all() as T[])
  }
}

export class Store {
  readonly workloads: Table<WorkloadRecord>
  readonly cells: Table<CellRecord>
  readonly peers: Table<PeerRecord>
  readonly tokens: Table<TokenRecord>
  readonly images: Table<ImageRecord>
  private readonly meta: Table<unknown>

  private constructor (private readonly db: Db, path: string) {
    const guard = new WriteGuard<Sublevel>(db, () => [this.meta, this.workloads, this.cells, this.peers, this.tokens, this.images].map(t => t.db), path)
    this.meta = new Table(db.sublevel('meta', { valueEncoding: 'json' }), guard)
    this.workloads = new Table(db.sublevel('workloads', { valueEncoding: 'json' }), guard)
    this.cells = new Table(db.sublevel('cells', { valueEncoding: 'json' }), guard)
    this.peers = new Table(db.sublevel('peers', { valueEncoding: 'json' }), guard)
    this.tokens = new Table(db.sublevel('tokens', { valueEncoding: 'json' }), guard)
    this.images = new Table(db.sublevel('images', { valueEncoding: 'json' }), guard)
  }

  /** Opens (or creates) the database at `path` and brings it to SCHEMA_VERSION. */
  static async open (path: string): Promise<Store> {
    const db: Db = new Level(path, { valueEncoding: 'json' })
    try {
      await db.open()
    } catch (err: any) {
      const cause = err.cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(err.cause?.message))
        ? 'another auraed is using it'
        : String(err.cause?.message ?? err.message)
      throw new FailedPreconditionError(`cannot open the store at ${path}: ${cause}`)
    }
    const store = new Store(db, path)
    await store.migrate()
    return store
  }

  private async migrate (): Promise<void> {
    let version = (await this.meta.get('schema') as number | undefined) ?? 0
    if (version > SCHEMA_VERSION) {
      throw new FailedPreconditionError(`the store was written by a newer auraed (schema ${version}, this one knows ${SCHEMA_VERSION})`)
    }
    while (version < SCHEMA_VERSION) {
      await MIGRATIONS[version](this.db)
      version++
      await this.meta.put('schema', version)
    }
  }

  async schemaVersion (): Promise<number> {
    return await this.meta.get('schema') as number
  }

  async node (): Promise<NodeMeta | undefined> {
    return await this.meta.get('node') as NodeMeta | undefined
  }

  async setNode (meta: NodeMeta): Promise<void> {
    await this.meta.put('node', meta)
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}
