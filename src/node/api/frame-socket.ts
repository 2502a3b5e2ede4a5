// The API's handlers on a second owner-only socket beside the gRPC one, in length-prefixed frames (common/call-frames.ts)
// instead of HTTP/2: the CLI then starts without loading node:http2 (with tls, crypto and http, 15 ms of each
// command). A call goes through the same entry as a call from the mesh (Api.dispatch), so routing, authorization
// (authz.ts) and error mapping are the gRPC socket's own. The gRPC socket stays, for standard clients.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { firstEvent } from '../../common/first-event.ts'
import { CLOSING, encodeFrame, framesOf, MESSAGE, type Frame } from '../../common/call-frames.ts'
import { CancelledError, InvalidArgumentError } from '../../errors.ts'
import { RpcRequest, RpcResponse } from '../../gen/aurae/mesh/v0/mesh.ts'
import type { toStatus } from '../../grpc-status.ts'
import type { Caller } from './authz.ts'

/** As grpc-js's default for a received message. */
const MAX_FRAME = 4 * 1024 * 1024
/** A connection that has not sent its request by then is closed. */
const REQUEST_TIMEOUT_MS = 10_000

export interface FrameApi {
  dispatch: (path: string, payload: Buffer, caller: Caller, send: (payload: Buffer) => Promise<void>, signal: AbortSignal, input?: AsyncIterable<Buffer>) => Promise<void>
  report: (method: string, err: unknown) => ReturnType<typeof toStatus>
}

/** Serves calls at `path` (created 0600; a stale socket there is replaced) as `caller`, the socket's owner. */
export async function serveFrames (path: string, api: FrameApi, caller: Caller): Promise<FrameServer> {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSocket() === true) unlinkSync(path)
  const server = new FrameServer(api, caller)
  await server.listen(path)
  return server
}

export class FrameServer {
  private readonly server: Server
  private readonly open = new Set<Socket>()
  private path = ''

  constructor (private readonly api: FrameApi, private readonly caller: Caller) {
    this.server = createServer(conn => {
      this.open.add(conn)
      conn.once('close', () => this.open.delete(conn))
      void this.serve(conn)
    })
  }

  async listen (path: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(path, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    this.path = path
    // The daemon's umask made it 0600 already; this says so where it matters.
    chmodSync(path, 0o600)
  }

  /** Stops taking calls, ends those under way and removes the socket. */
  close (): void {
    this.server.close()
    for (const conn of this.open) conn.destroy()
    try { unlinkSync(this.path) } catch {}
  }

  /** One call: the request frame, the caller's further messages up to its closing frame, the responses, the status. */
  private async serve (conn: Socket): Promise<void> {
    const ac = new AbortController()
    // The caller never half-closes: the end of its side is the call cancelled.
    const gone = (): void => ac.abort()
    conn.once('end', gone)
    conn.once('close', gone)
    conn.on('error', gone)
    const frames = framesOf(conn, MAX_FRAME)[Symbol.asyncIterator]()
    const timer = setTimeout(() => conn.destroy(), REQUEST_TIMEOUT_MS)
    let first: IteratorResult<Frame>
    try {
      first = await frames.next()
    } catch {
      conn.destroy()
      return
    } finally {
      clearTimeout(timer)
    }
    if (first.done === true) return
    let method = ''
    let status: { code: number, details: string } = { code: 0, details: '' }
    try {
      if (first.value.flag !== MESSAGE) throw new InvalidArgumentError('the first frame must be the request')
      const req = decodeRequest(first.value.body)
      method = req.method
      const send = async (payload: Buffer): Promise<void> => {
        if (ac.signal.aborted) throw new CancelledError('the client went away')
        if (!conn.write(encodeFrame(MESSAGE, payload))) await firstEvent([conn, 'drain'], [ac.signal, 'abort'])
      }
      await this.api.dispatch(req.method, Buffer.from(req.payload), this.caller, send, ac.signal, inputOf(frames))
    } catch (err) {
      status = this.api.report(method, err)
    }
    if (ac.signal.aborted) return
    conn.end(encodeFrame(CLOSING, RpcResponse.encode({ payload: Buffer.alloc(0), code: status.code, error: status.details, end: true, inputCredit: 0 }).finish()))
  }
}

function decodeRequest (body: Buffer): RpcRequest {
  try {
    return RpcRequest.decode(body)
  } catch {
    throw new InvalidArgumentError('malformed request frame')
  }
}

/** The caller's further messages, up to its closing frame; a caller gone before it cancels the call. */
async function * inputOf (frames: AsyncIterator<Frame>): AsyncGenerator<Buffer> {
  for (;;) {
    let next: IteratorResult<Frame>
    try {
      next = await frames.next()
    } catch (err) {
      throw new InvalidArgumentError(`bad input frame: ${(err as Error).message}`)
    }
    if (next.done === true) throw new CancelledError('the client went away')
    if (next.value.flag === CLOSING) return
    if (next.value.flag !== MESSAGE) throw new InvalidArgumentError(`bad input frame: unknown flag ${next.value.flag}`)
    yield next.value.body
  }
}
