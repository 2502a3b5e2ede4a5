import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SCHEMA_VERSION, Store } from '../../src/store/store.ts'

describe('the store', () => {
  let path: string
  beforeEach(() => { path = join(mkdtempSync(join(tmpdir(), 'store-')), 'db') })
  afterEach(() => rmSync(join(path, '..'), { recursive: true, force: true }))

  it('starts at the current schema version and keeps what was put across a reopen', async () => {
    const store = await Store.open(path)
    expect(await store.getMeta('schema')).toBe(SCHEMA_VERSION)
    await store.setMeta('node', { name: 'alice', domain: 'example.org', peerId: '12D3KooWx', registeredAt: 1 })
    await store.table('cells').put('c', { name: 'c', createdAt: 2 })
    await store.table('workloads').put('w', { spec: { name: 'w' } })
    await store.stop()
    const again = await Store.open(path)
    expect(await again.getMeta('node')).toEqual({ name: 'alice', domain: 'example.org', peerId: '12D3KooWx', registeredAt: 1 })
    // Each table holds its own records, and the schema version is not one of them.
    expect(await again.table('cells').values()).toEqual([{ name: 'c', createdAt: 2 }])
    expect(await again.table<{ spec: { name: string } }>('workloads').get('w')).toEqual({ spec: { name: 'w' } })
    expect(await again.table('workloads').values()).toHaveLength(1)
    await again.table('workloads').del('w')
    expect(await again.table('workloads').get('w')).toBeUndefined()
    expect(await again.getMeta('schema')).toBe(SCHEMA_VERSION)
    await again.stop()
  })

  it('refuses a second opener', async () => {
    const store = await Store.open(path)
    await expect(Store.open(path)).rejects.toThrow(`cannot open the store at ${path}: another auraed is using it`)
    await store.stop()
  })

  it('refuses a store written by a newer auraed', async () => {
    await (await Store.open(path)).stop()
    const db = new Level<string, any>(path, { valueEncoding: 'json' })
    await db.sublevel('meta', { valueEncoding: 'json' }).put('schema', SCHEMA_VERSION + 1)
    await db.close()
    await expect(Store.open(path)).rejects.toThrow(`the store was written by a newer auraed (schema ${SCHEMA_VERSION + 1}, this one knows ${SCHEMA_VERSION})`)
  })
})
