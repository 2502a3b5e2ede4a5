// The node's level database: named tables over one crash-safe database, with a schema version. It knows no
// record of any module: each module types the table it owns, and the composition root opens it by name.
import { Level } from 'level'
import { FailedPreconditionError } from '../errors.ts'
import { WriteGuard } from './write-guard.ts'

/** Bumped whenever stored shapes change; MIGRATIONS[n] moves a database from version n to n+1. */
export const SCHEMA_VERSION = 1

type Db = Level<string, any>
const MIGRATIONS: Array<(db: Db) => Promise<void>> = [
  async () => {} // 0 → 1: a new database; nothing to move.
]

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
  private readonly tables = new Map<string, Table<unknown>>()
  private readonly guard: WriteGuard<Sublevel>
  private readonly meta: Table<unknown>

  private constructor (private readonly db: Db, path: string) {
    this.guard = new WriteGuard<Sublevel>(db, () => [...this.tables.values()].map(t => t.db), path)
    this.meta = this.table('meta')
  }

  /** The table of that name, opened on first use; what it holds is its owner's to type. */
  table<T> (name: string): Table<T> {
    let t = this.tables.get(name)
    if (t === undefined) {
      t = new Table<unknown>(this.db.sublevel(name, { valueEncoding: 'json' }), this.guard)
      this.tables.set(name, t)
    }
    return t as Table<T>
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

  /** A value kept beside the schema version (the node's registered identity). */
  async getMeta<T> (key: string): Promise<T | undefined> {
    return await this.meta.get(key) as T | undefined
  }

  async setMeta<T> (key: string, value: T): Promise<void> {
    await this.meta.put(key, value)
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}
