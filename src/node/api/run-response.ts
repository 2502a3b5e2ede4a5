// The Run stream's responses on the wire. Attached output is nearly all payload, and the generated
// encoder copies a payload several times over (growing its buffer, nesting, finishing). Here an
// output message costs one copy at most, and none when its data was gathered by outputBuffer(),
// whose large buffers are reused: every large buffer the daemon makes costs it garbage collection.
import { WorkloadServiceRunResponse, WorkloadServiceService } from '../../gen/aurae/workloads/v0/workloads.ts'
import { MESSAGE_MAX, type MessageBuffer } from '../../runtime/attach.ts'
import { fieldSize, varintSize, writeVarint } from '../../varint.ts'

const FIELD_OUTPUT = 0x12
const FIELD_STREAM = 0x0a
const FIELD_DATA = 0x12
/** Messages from this size on keep the reused buffer they were gathered in. grpc-js queues up to 16
 * messages per call, so about that many are in use at once; the spare ones go after a quiet second. */
const POOL_FROM = 64 * 1024
const SPARE = 20
const SPARE_MS = 1000

const spare: Buffer[] = []
/** Data buffers laid out by outputBuffer(): the message they lie in, and the reused buffer under it. */
const laidOut = new WeakMap<Uint8Array, { stream: string, wire: Buffer, pooled?: Buffer }>()

/** Room for up to MESSAGE_MAX bytes of output, inside the bytes of its message, so encoding it copies nothing. */
export function outputBuffer (stream: string): MessageBuffer {
  const name = Buffer.from(stream)
  const room = headerSize(name.length, MESSAGE_MAX)
  const base = spare.pop() ?? Buffer.allocUnsafeSlow(room + MESSAGE_MAX)
  return {
    buf: base.subarray(room, room + MESSAGE_MAX),
    finish: size => {
      const head = headerSize(name.length, size)
      if (size < POOL_FROM) {
        const wire = Buffer.allocUnsafe(head + size)
        writeHeader(wire, name, size)
        base.copy(wire, head, room, room + size)
        release(base)
        return layOut(wire.subarray(head), { stream, wire })
      }
      const wire = base.subarray(room - head, room + size)
      writeHeader(wire, name, size)
      return layOut(wire.subarray(head), { stream, wire, pooled: base })
    }
  }
}

function layOut (data: Buffer, message: { stream: string, wire: Buffer, pooled?: Buffer }): Buffer {
  laidOut.set(data, message)
  return data
}

let trim: NodeJS.Timeout | undefined

function release (buf: Buffer): void {
  if (spare.length < SPARE) spare.push(buf)
  clearTimeout(trim)
  trim = setTimeout(() => { spare.length = 0 }, SPARE_MS).unref()
}

/** WorkloadServiceRunResponse → bytes. Bytes laid out by outputBuffer() are valid until the current task ends. */
export function encodeRunResponse (res: WorkloadServiceRunResponse): Buffer {
  const output = res.output
  if (output === undefined || res.started !== undefined || res.exit !== undefined) {
    const bytes = WorkloadServiceRunResponse.encode(res).finish()
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  const known = laidOut.get(output.data)
  if (known !== undefined && known.stream === output.stream) {
    laidOut.delete(output.data)
    // Serializers copy what this returns at once (grpc-js into its frame, the mesh into its RPC
    // frame), so the buffer can serve the next message once the current task is done.
    const pooled = known.pooled
    if (pooled !== undefined) queueMicrotask(() => release(pooled))
    return known.wire
  }
  const stream = Buffer.from(output.stream)
  const buf = Buffer.allocUnsafe(headerSize(stream.length, output.data.length) + output.data.length)
  buf.set(output.data, writeHeader(buf, stream, output.data.length))
  return buf
}

/** The workload service with the Run stream encoded as above; the same messages on the wire. */
export const WorkloadService = {
  ...WorkloadServiceService,
  run: { ...WorkloadServiceService.run, responseSerialize: encodeRunResponse }
}

/** The bytes of an output message before its data. */
function headerSize (streamLength: number, dataLength: number): number {
  const inner = fieldSize(streamLength) + fieldSize(dataLength)
  return 1 + varintSize(inner) + inner - dataLength
}

/** Writes the bytes before the data; returns where the data goes. */
function writeHeader (buf: Buffer, stream: Buffer, dataLength: number): number {
  let at = writeVarint(buf, writeVarint(buf, 0, FIELD_OUTPUT), fieldSize(stream.length) + fieldSize(dataLength))
  if (stream.length > 0) {
    at = writeVarint(buf, writeVarint(buf, at, FIELD_STREAM), stream.length)
    at += stream.copy(buf, at)
  }
  return dataLength > 0 ? writeVarint(buf, writeVarint(buf, at, FIELD_DATA), dataLength) : at
}
