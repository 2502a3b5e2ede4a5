// The datastore under libp2p, with the DHT's name records guarded by the name book. kad-dht 16 stores
// a PUT_VALUE after its validator alone (no selector against the record it holds), so a stranger could
// overwrite any name here; every record write goes through put(), which refuses another key's claim.
// The mesh's DHT is for names alone: public-key records (a PeerId here embeds its key) and provider
// records (no content is routed) are refused, so a stranger cannot fill the daemon's memory with them.
import { Libp2pRecord } from '@libp2p/record'
import { MemoryDatastore } from 'datastore-core'
import { FailedPreconditionError } from '../errors.ts'
import type { NameBook } from './name-book.ts'
import { isNameKey } from './name-book.ts'

/** kad-dht's `datastorePrefix`; it files records under `<prefix>/record/` and providers under `<prefix>/provider/`. */
export const DHT_PREFIX = '/dht'
const RECORDS = `${DHT_PREFIX}/record/`
const PROVIDERS = `${DHT_PREFIX}/provider/`

export class NameStore extends MemoryDatastore {
  constructor (private readonly book: NameBook) {
    super()
  }

  override put (...[key, value, options]: Parameters<MemoryDatastore['put']>): ReturnType<MemoryDatastore['put']> {
    const text = key.toString()
    if (text.startsWith(RECORDS)) {
      const record = Libp2pRecord.deserialize(value)
      if (!isNameKey(record.key)) throw new FailedPreconditionError('this mesh\'s DHT keeps name records only')
      this.book.accept(record.key, record.value)
    } else if (text.startsWith(PROVIDERS)) {
      throw new FailedPreconditionError('this mesh\'s DHT keeps no provider records')
    }
    return super.put(key, value, options)
  }
}
