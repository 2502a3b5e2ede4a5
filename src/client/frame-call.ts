// One call on the daemon's frame socket (common/call-frames.ts): a connection of its own, the request frame, the
// caller's further messages and its closing frame, then the responses up to the daemon's status. Cheaper to start
// than HTTP/2, whose module alone costs a CLI command 15 ms; the results are the gRPC socket's.
import { createConnection } from 'node:net'
import { CLOSING, encodeFrame, framesOf, MESSAGE } from '../common/call-frames.ts'
import { firstEvent } from '../common/first-event.ts'
import { RpcRequest, RpcResponse } from '../gen/aurae/mesh/v0/mesh.ts'
import { status as Status } from '../grpc-status.ts'
import { GrpcError } from './grpc-error.ts'

/** Far above any message the daemon sends (attached output comes in pieces of hundreds of KB). */
const MAX_FRAME = 64 * 1024 * 1024

/** The frame socket took no connection: nothing of the call was sent, so it may go another way. */
export class FrameSocketRefused extends Error {
  override name = 'FrameSocketRefused'
}

/** Sends one request (then `input`'s messages, as the socket takes them) and yields each response message until the
 * daemon's status; aborting `signal` closes the connection, which cancels the call. Throws GrpcError as HTTP/2 would,
 * and FrameSocketRefused when the connection could not be made (before anything of the call, input included, was
 * taken). */
export async function * frameCall (sock: string, path: string, request: Buffer, signal?: AbortSignal, input?: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const socket = createConnection(sock)
  const onAbort = (): void => { socket.destroy() }
  signal?.addEventListener('abort', onAbort, { once: true })
  let failure: Error | undefined
  socket.on('error', err => { failure ??= err })
  await firstEvent([socket, 'connect'], [socket, 'close'])
  if (failure !== undefined && signal?.aborted !== true) {
    signal?.removeEventListener('abort', onAbort)
    socket.destroy()
    throw new FrameSocketRefused(`${sock}: ${failure.message}`)
  }
  socket.write(encodeFrame(MESSAGE, RpcRequest.encode({ method: path, payload: request, callerName: '', window: 0 }).finish()))
  if (input !== undefined) void sendAll(socket, input).catch(() => socket.destroy())
  let status: RpcResponse | undefined
  try {
    for await (const frame of framesOf(socket, MAX_FRAME)) {
      if (frame.flag === CLOSING) {
        status = decodeStatus(frame.body)
        break
      }
      if (frame.flag !== MESSAGE) throw new GrpcError(Status.INTERNAL, `the daemon sent a frame of unknown flag ${frame.flag}`)
      if (signal?.aborted === true) break
      yield frame.body
    }
  } catch (err) {
    if (err instanceof GrpcError) throw err
    failure ??= err as Error
  } finally {
    signal?.removeEventListener('abort', onAbort)
    socket.destroy()
  }
  if (signal?.aborted === true) return
  if (status !== undefined) {
    if (status.code !== Status.OK) throw new GrpcError(status.code, status.error)
    return
  }
  if (failure !== undefined) {
    const code = (failure as NodeJS.ErrnoException).code ?? ''
    throw new GrpcError(Status.UNAVAILABLE, `${code !== '' ? `${code}: ` : ''}${failure.message}`)
  }
  throw new GrpcError(Status.UNAVAILABLE, `the connection to ${sock} closed mid-call`)
}

function decodeStatus (body: Buffer): RpcResponse {
  try {
    return RpcResponse.decode(body)
  } catch {
    throw new GrpcError(Status.INTERNAL, 'the daemon sent a malformed status')
  }
}

/** The caller's further messages, each once the socket has taken the one before; then its closing frame. */
async function sendAll (socket: ReturnType<typeof createConnection>, input: AsyncIterable<Buffer>): Promise<void> {
  for await (const message of input) {
    if (socket.destroyed) return
    if (!socket.write(encodeFrame(MESSAGE, message))) await firstEvent([socket, 'drain'], [socket, 'close'])
  }
  if (!socket.destroyed) socket.write(encodeFrame(CLOSING, Buffer.alloc(0)))
}
