import { describe, expect, it } from 'vitest'
import { ObserveServiceGetWorkloadLogsResponse } from '../../../src/gen/aurae/node/v0/observe.ts'
import { encodeLogResponse } from '../../../src/node/api/log-response.ts'

describe('the log response on the wire', () => {
  it('is byte for byte what the generated encoder writes, for every size of field', () => {
    for (const size of [0, 1, 127, 128, 16383, 16384, 65536, 2_097_152]) {
      for (const m of [
        { stream: 'stdout', data: Buffer.alloc(size, 7), time: '2026-11-24T14:00:00.123456789Z' },
        { stream: 'stderr', data: Buffer.alloc(size, 0), time: '' },
        { stream: '', data: Buffer.alloc(size), time: 'é' }
      ]) {
        const ours = encodeLogResponse(m)
        expect(ours.equals(Buffer.from(ObserveServiceGetWorkloadLogsResponse.encode(m).finish()))).toBe(true)
        const back = ObserveServiceGetWorkloadLogsResponse.decode(ours)
        expect([back.stream, back.time, Buffer.from(back.data).equals(m.data)]).toEqual([m.stream, m.time, true])
      }
    }
  })
})
