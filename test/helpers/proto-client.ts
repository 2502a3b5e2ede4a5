// gRPC clients made by @grpc/proto-loader from the .proto files alone (no code of ours), on the owner-only socket or,
// with a client certificate, on the mTLS socket as the original Aurae's clients reach it.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'
import { ROOT } from './node.ts'

/** A service's client constructor, e.g. `service('aurae/discovery/v0/discovery.proto', 'aurae.discovery.v0.DiscoveryService')`. */
export function service (file: string, name: string): grpc.ServiceClientConstructor {
  let found: any = grpc.loadPackageDefinition(loader.loadSync(join(ROOT, 'proto', file), { keepCase: true, defaults: true, enums: String }))
  for (const part of name.split('.')) found = found[part]
  return found
}

/** Credentials for the mTLS socket: the CA's certificate and, if given, a client's key and certificate (files). */
export function tlsCredentials (ca: string, key?: string, cert?: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(ca), key === undefined ? null : readFileSync(key), cert === undefined ? null : readFileSync(cert))
}

/** The server name the node's certificate carries, as the original's clients ask for it. */
export const TLS_OPTIONS = { 'grpc.ssl_target_name_override': 'server.unsafe.aurae.io' }

/** A unary call; with `peer`, the call's `aurae-peer` metadata names it. */
export async function unary (client: any, method: string, req: object, peer?: string): Promise<any> {
  const md = new grpc.Metadata()
  if (peer !== undefined) md.set('aurae-peer', peer)
  return await new Promise((resolve, reject) => {
    client[method](req, md, { deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null, res: any) => err !== null ? reject(err) : resolve(res))
  })
}

/** The first message of a server stream, then the call cancelled; with `peer` as in `unary`. */
export async function firstOf (client: any, method: string, req: object, peer?: string): Promise<any> {
  const md = new grpc.Metadata()
  if (peer !== undefined) md.set('aurae-peer', peer)
  const call = client[method](req, md)
  return await new Promise((resolve, reject) => {
    call.once('data', (res: any) => { resolve(res); call.cancel() })
    call.once('error', reject)
  })
}
