// The node's level database: named tables over one crash-safe database, with a schema version. It knows no
// record of any module: each module types the table it owns, and the composition root opens it by name.
import { Level } from 'level'
import { FailedPreconditionError } from '../errors.ts'
import type { Component } from '../lifecycle.ts'
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

export class Store implements Component {
  private readonly tables = new Map<string, Table<unknown>>()
  private readonly db: Db
  private readonly guard: WriteGuard<Sublevel>
  private readonly meta: Table<unknown>

  constructor (private readonly path: string) {
    this.db = new Level(path, { valueEncoding: 'json' })
    this.guard = new WriteGuard<Sublevel>(this.db, () => [...this.tables.values()].map(t => t.db), path)
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

  /** A store at `path`, started. */
  static async open (path: string): Promise<Store> {
    const store = new Store(path)
    await store.start()
    return store
  }

  /** Opens (or creates) the database and brings it to SCHEMA_VERSION. */
  async start (): Promise<void> {
    try {
      await this.db.open()
    } catch (err: any) {
      const cause = err.cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String(err.cause?.message))
        ? 'another auraed is using it'
        : String(err.cause?.message ?? err.message)
      throw new FailedPreconditionError(`cannot open the store at ${this.path}: ${cause}`)
    }
    try {
      await this.migrate()
    } catch (err) {
      await this.db.close()
      throw err
    }
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

  /** A value kept beside the schema version (the node's registered identity). */
  async getMeta<T> (key: string): Promise<T | undefined> {
    return await this.meta.get(key) as T | undefined
  }

  async setMeta<T> (key: string, value: T): Promise<void> {
    await this.meta.put(key, value)
  }

  async stop (): Promise<void> {
    await this.db.close()
  }
}
