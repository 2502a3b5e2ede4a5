// The wire form of a log response, written straight into one buffer of its exact size: the generic
// encoder grows a buffer by doubling and then copies it twice, which for a stream of output is most
// of the memory a follower churns through (and so of what the daemon's RSS shows between collections).
import { ObserveServiceService, type ObserveServiceGetWorkloadLogsResponse } from '../../gen/aurae/observe/v0/observe.ts'

/** Protobuf encoding of ObserveServiceGetWorkloadLogsResponse; empty fields left out, as proto3 does. */
export function encodeLogResponse (m: ObserveServiceGetWorkloadLogsResponse): Buffer {
  const streamLength = Buffer.byteLength(m.stream)
  const timeLength = Buffer.byteLength(m.time)
  const field = (length: number): number => length === 0 ? 0 : 1 + varintLength(length) + length
  const out = Buffer.allocUnsafe(field(streamLength) + field(m.data.length) + field(timeLength))
  let pos = 0
  const head = (tag: number, length: number): void => {
    out[pos++] = tag
    for (let v = length; ; v = Math.floor(v / 128)) {
      if (v < 128) {
        out[pos++] = v
        return
      }
      out[pos++] = (v % 128) | 128
    }
  }
  if (streamLength > 0) {
    head(0x0a, streamLength)
    pos += out.write(m.stream, pos)
  }
  if (m.data.length > 0) {
    head(0x12, m.data.length)
    out.set(m.data, pos)
    pos += m.data.length
  }
  if (timeLength > 0) {
    head(0x1a, timeLength)
    out.write(m.time, pos)
  }
  return out
}

function varintLength (v: number): number {
  let n = 1
  for (let x = v; x >= 128; x = Math.floor(x / 128)) n++
  return n
}

/** The observe service as served: the generated definition with the log response encoded as above. */
export const ObserveService = {
  ...ObserveServiceService,
  getWorkloadLogs: { ...ObserveServiceService.getWorkloadLogs, responseSerialize: encodeLogResponse }
}
