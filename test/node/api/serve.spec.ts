import { EventEmitter, getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { Api } from '../../../src/node/api/serve.ts'

/** A server stream whose every write waits for a drain, as a slow reader's does. */
class SlowCall extends EventEmitter {
  request = {}
  metadata = { get: () => [] }
  written = 0
  ended = false
  write (): boolean {
    this.written++
    setImmediate(() => this.emit('drain'))
    return false
  }

  end (): void {
    this.ended = true
    this.emit('finish')
  }
}

describe('a streaming call', () => {
  it('takes back its drain and abort listeners after every wait, however long it streams', async () => {
    const api = new Api({ authorize: () => {}, locate: () => ({ local: true, entity: '' }), forward: async () => {}, onError: () => {} })
    let signal: AbortSignal | undefined
    const definition = {
      follow: { path: '/test.Test/Follow', responseStream: true as const, requestSerialize: () => Buffer.alloc(0), requestDeserialize: () => ({}), responseSerialize: () => Buffer.alloc(0), responseDeserialize: () => ({}) }
    }
    const impl = api.add('test', definition, {
      follow: {
        stream: async (_req: unknown, send: (res: unknown) => Promise<void>, s: AbortSignal) => {
          signal = s
          for (let i = 0; i < 1000; i++) await send({})
        }
      }
    } as any, () => ({ kind: 'local', uid: 0 }))
    const call = new SlowCall()
    const finished = new Promise(resolve => call.once('finish', resolve))
    ;(impl.follow as (c: unknown) => void)(call)
    await finished
    expect(call.written).toBe(1000)
    expect(call.listenerCount('drain')).toBe(0)
    expect(getEventListeners(signal as AbortSignal, 'abort')).toHaveLength(0)
  })
})
