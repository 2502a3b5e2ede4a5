// The CLI's connection to its daemon: one gRPC channel over the Unix socket, errors turned into CliErrors.
import { credentials, status, type CallOptions, type ClientReadableStream, type ClientUnaryCall, type Metadata, type ServiceError } from '@grpc/grpc-js'
import { statSync } from 'node:fs'
import { CellServiceClient } from '../gen/aurae/cells/v0/cells.ts'
import { MeshServiceClient } from '../gen/aurae/mesh/v0/mesh.ts'
import { ImageServiceClient } from '../gen/aurae/images/v0/images.ts'
import { NodeServiceClient } from '../gen/aurae/node/v0/node.ts'
import { ObserveServiceClient } from '../gen/aurae/observe/v0/observe.ts'
import { WorkloadServiceClient } from '../gen/aurae/workloads/v0/workloads.ts'
import { CliError, EXIT } from './exit.ts'

export interface Daemon {
  sock: string
  node: NodeServiceClient
  workloads: WorkloadServiceClient
  cells: CellServiceClient
  observe: ObserveServiceClient
  mesh: MeshServiceClient
  images: ImageServiceClient
  close: () => void
}

/** Connects lazily to the daemon at `sock`, first checking that the socket is there and ours. */
export function connect (sock: string): Daemon {
  let st
  try {
    st = statSync(sock)
  } catch {
    throw notRunning(sock)
  }
  const uid = process.getuid?.() ?? 0
  if (uid !== 0 && st.uid !== uid) {
    throw new CliError(`the socket ${sock} belongs to uid ${st.uid}, not you (uid ${uid}); run as that user, or start your own node with --sock`, EXIT.failure)
  }
  const node = new NodeServiceClient(`unix:${sock}`, credentials.createInsecure())
  const channelOverride = node.getChannel()
  return {
    sock,
    node,
    workloads: new WorkloadServiceClient('', credentials.createInsecure(), { channelOverride }),
    cells: new CellServiceClient('', credentials.createInsecure(), { channelOverride }),
    observe: new ObserveServiceClient('', credentials.createInsecure(), { channelOverride }),
    mesh: new MeshServiceClient('', credentials.createInsecure(), { channelOverride }),
    images: new ImageServiceClient('', credentials.createInsecure(), { channelOverride }),
    close: () => node.close()
  }
}

type Callback<R> = (err: ServiceError | null, res: R) => void
/** The request and response types of a generated client's unary method (from its last overload). */
type UnaryOf<F> = F extends (req: infer Q, md: Metadata, opts: Partial<CallOptions>, cb: Callback<infer R>) => ClientUnaryCall ? [Q, R] : never

/** Makes one unary call and maps its failure. */
export async function call<C, M extends keyof C> (sock: string, client: C, method: M, req: UnaryOf<C[M]>[0]): Promise<UnaryOf<C[M]>[1]> {
  return await new Promise((resolve, reject) => {
    const fn = client[method] as (req: unknown, cb: Callback<UnaryOf<C[M]>[1]>) => ClientUnaryCall
    fn.call(client, req, (err, res) => err === null ? resolve(res) : reject(fromGrpc(err, sock)))
  })
}

/** Reads a server stream to its end, handing each message to `onMessage`. */
export async function drain<Res> (sock: string, stream: ClientReadableStream<Res>, onMessage: (res: Res) => void | Promise<void>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let pending = Promise.resolve()
    stream.on('data', (res: Res) => {
      pending = pending.then(async () => await onMessage(res))
    })
    stream.on('error', (err: ServiceError) => { void pending.then(() => reject(fromGrpc(err, sock))) })
    stream.on('end', () => { void pending.then(resolve, reject) })
  })
}

export function notRunning (sock: string): CliError {
  return new CliError(`auraed is not running on ${sock}; start it with: aurae up NAME[@DOMAIN]`, EXIT.unreachable)
}

/** A gRPC failure as the user should read it. */
export function fromGrpc (err: ServiceError, sock: string): CliError {
  if (err.code === status.UNAVAILABLE) {
    if (/EACCES|permission/i.test(err.details)) return new CliError(`permission denied on ${sock}: it belongs to another user`, EXIT.failure)
    return notRunning(sock)
  }
  if (err.code === status.INVALID_ARGUMENT) return new CliError(err.details, EXIT.usage)
  return new CliError(err.details === '' ? err.message : err.details, EXIT.failure)
}
