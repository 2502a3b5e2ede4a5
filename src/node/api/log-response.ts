// The wire form of a log response, written straight into one buffer of its exact size: the generic
// encoder grows a buffer by doubling and then copies it twice, which for a stream of output is most
// of the memory a follower churns through (and so of what the daemon's RSS shows between collections).
import { ObserveServiceService, type ObserveServiceGetWorkloadLogsResponse } from '../../gen/aurae/node/v0/observe.ts'
import { fieldSize, writeVarint } from '../../varint.ts'

/** Protobuf encoding of ObserveServiceGetWorkloadLogsResponse; empty fields left out, as proto3 does. */
export function encodeLogResponse (m: ObserveServiceGetWorkloadLogsResponse): Buffer {
  const streamLength = Buffer.byteLength(m.stream)
  const timeLength = Buffer.byteLength(m.time)
  const out = Buffer.allocUnsafe(fieldSize(streamLength) + fieldSize(m.data.length) + fieldSize(timeLength))
  let pos = 0
  if (streamLength > 0) {
    pos = writeVarint(out, writeVarint(out, pos, 0x0a), streamLength)
    pos += out.write(m.stream, pos)
  }
  if (m.data.length > 0) {
    pos = writeVarint(out, writeVarint(out, pos, 0x12), m.data.length)
    out.set(m.data, pos)
    pos += m.data.length
  }
  if (timeLength > 0) {
    pos = writeVarint(out, writeVarint(out, pos, 0x1a), timeLength)
    out.write(m.time, pos)
  }
  return out
}

/** The observe service as served: the generated definition with the log response encoded as above. */
export const ObserveService = {
  ...ObserveServiceService,
  getWorkloadLogs: { ...ObserveServiceService.getWorkloadLogs, responseSerialize: encodeLogResponse }
}
