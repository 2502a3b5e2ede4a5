import { describe, expect, it } from 'vitest'
import { NameBook } from '../../src/mesh/name-book.ts'
import { NAME_TTL_MS, nameKey, nameSelectors } from '../../src/mesh/names.ts'
import type { NodeKey } from '../../src/mesh/keys.ts'
import { newKey, recordBy } from '../helpers/name-records.ts'

const NOW = Date.now()
const key = nameKey('alice', 'example.org')
const alice = await newKey()
const mallory = await newKey()
const eve = await newKey()
const record = (by: NodeKey, seq = NOW, name?: string, addrs?: string[]): Uint8Array => recordBy(by, seq, name, addrs)
const unpinned = (): NameBook => new NameBook(() => undefined)

describe('who holds a name', () => {
  it('gives an unheld name to the only key that claims it, and keeps it for that key', () => {
    const book = unpinned()
    expect(book.resolve(key, [record(alice)], NOW)).toMatchObject({ record: { peerId: alice.peerId }, others: [], pinned: false })
    const later = book.resolve(key, [record(mallory, NOW + 1000)], NOW + 1000)
    expect(later).toMatchObject({ record: { peerId: alice.peerId, seq: NOW }, others: [mallory.peerId] })
  })

  it('reports a conflict rather than choosing when several keys claim a name no key holds', () => {
    const res = unpinned().resolve(key, [record(mallory, NOW + 5), record(alice)], NOW)
    expect(res.record).toBeUndefined()
    expect(res.others).toEqual([alice.peerId, mallory.peerId].sort())
  })

  it('frees a name once its holder\'s record expires', () => {
    const book = unpinned()
    book.accept(key, record(alice), NOW)
    const after = NOW + NAME_TTL_MS
    expect(book.holderOf(key, after)).toBeUndefined()
    expect(book.resolve(key, [record(mallory, after)], after).record?.peerId).toBe(mallory.peerId)
  })

  it('refuses another key\'s record, and an older record of the holder, into the store', () => {
    const book = unpinned()
    book.accept(key, record(alice, NOW), NOW)
    expect(() => book.accept(key, record(mallory, NOW + 1), NOW + 1)).toThrow(`is held by ${alice.peerId}`)
    expect(() => book.accept(key, record(alice, NOW - 1), NOW)).toThrow('has a newer record')
    expect(book.accept(key, record(alice, NOW + 2), NOW + 2).seq).toBe(NOW + 2)
  })

  it('resolves a pinned name to its pinned key only, whoever was seen first', () => {
    const book = new NameBook(() => alice.peerId)
    expect(() => book.accept(key, record(mallory), NOW)).toThrow()
    expect(book.resolve(key, [record(mallory, NOW + 9)], NOW)).toEqual({ record: undefined, others: [mallory.peerId], pinned: true })
    expect(book.resolve(key, [record(mallory, NOW + 9), record(alice)], NOW)).toMatchObject({ record: { peerId: alice.peerId }, others: [mallory.peerId], pinned: true })
  })

  it('has the DHT prefer the holder\'s record over a newer one of another key', () => {
    const book = unpinned()
    book.accept(key, record(alice), NOW)
    const select = nameSelectors(k => book.holderOf(k, NOW)).aurae
    expect(select(key, [record(mallory, NOW + 5), record(alice, NOW + 1), record(eve, NOW + 9)])).toBe(1)
    expect(nameSelectors(() => undefined).aurae(key, [record(alice, NOW), record(eve, NOW + 9)])).toBe(1)
  })

  it('takes no new name once full, until one expires', () => {
    const book = new NameBook(() => undefined, 1)
    book.accept(key, record(alice), NOW)
    const bob = nameKey('bob', 'example.org')
    expect(() => book.accept(bob, record(eve, NOW, 'bob'), NOW)).toThrow('too many names')
    expect(book.accept(bob, record(eve, NOW + NAME_TTL_MS, 'bob'), NOW + NAME_TTL_MS).peerId).toBe(eve.peerId)
  })
})
