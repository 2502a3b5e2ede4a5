// The datastore under libp2p, with the DHT's name records guarded by the name book. kad-dht 16 stores
// a PUT_VALUE after its validator alone (no selector against the record it holds), so a stranger could
// overwrite any name here; every record write goes through put(), which refuses another key's claim.
import { Libp2pRecord } from '@libp2p/record'
import { MemoryDatastore } from 'datastore-core'
import type { NameBook } from './name-book.ts'
import { isNameKey } from './name-book.ts'

/** kad-dht's `datastorePrefix`; it files records under `<prefix>/record/`. */
export const DHT_PREFIX = '/dht'
const RECORDS = `${DHT_PREFIX}/record/`

export class NameStore extends MemoryDatastore {
  constructor (private readonly book: NameBook) {
    super()
  }

  override put (...[key, value, options]: Parameters<MemoryDatastore['put']>): ReturnType<MemoryDatastore['put']> {
    if (key.toString().startsWith(RECORDS)) {
      const record = Libp2pRecord.deserialize(value)
      if (isNameKey(record.key)) this.book.accept(record.key, record.value)
    }
    return super.put(key, value, options)
  }
}
