// The original Aurae's discovery service and gRPC's standard health service, driven by a client that proto-loader
// makes from the .proto files alone: a node says it is not healthy until it is up, then that it and each service it
// serves are, and a Watch sees the change as it happens.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, startNode, until, type TestNode } from '../helpers/node.ts'

const load = (path: string): any => grpc.loadPackageDefinition(loader.loadSync(join(ROOT, 'proto', path), { keepCase: true, defaults: true, enums: String }))
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version

describe('the node answers discovery and gRPC health checks', () => {
  let node: TestNode
  let discovery: any
  let health: any
  beforeAll(async () => {
    node = await startNode(null)
    discovery = new (load('aurae/discovery/v0/discovery.proto').aurae.discovery.v0.DiscoveryService)(`unix:${node.sock}`, grpc.credentials.createInsecure())
    health = new (load('grpc/health/v1/health.proto').grpc.health.v1.Health)(`unix:${node.sock}`, grpc.credentials.createInsecure())
  })
  afterAll(async () => {
    discovery?.close()
    health?.close()
    await node?.stop()
  })

  const unary = async (client: any, method: string, req: object): Promise<any> => await new Promise((resolve, reject) => {
    client[method](req, (err: grpc.ServiceError | null, res: any) => err !== null ? reject(err) : resolve(res))
  })

  it('says it is not healthy, nor serving, before it is up; a Watch sees it come up', async () => {
    expect(await unary(discovery, 'Discover', {})).toEqual({ healthy: false, version: VERSION })
    expect(await unary(health, 'Check', { service: '' })).toEqual({ status: 'NOT_SERVING' })
    const seen: string[] = []
    const watch = health.Watch({ service: '' })
    watch.on('data', (res: { status: string }) => seen.push(res.status))
    watch.on('error', () => {})
    await until('the first status', () => seen.length === 1)
    expect((await node.cli(['up', 'health', '--key', node.key, '--data', node.data])).code).toBe(0)
    await until('the Watch to see the node serving', () => seen.length === 2)
    expect(seen).toEqual(['NOT_SERVING', 'SERVING'])
    watch.cancel()
  })

  it('is healthy once up, and serves each of its services, the standard ones included', async () => {
    expect(await unary(discovery, 'Discover', {})).toEqual({ healthy: true, version: VERSION })
    for (const service of ['', 'aurae.discovery.v0.DiscoveryService', 'grpc.health.v1.Health', 'aurae.vms.v0.VmService', 'aurae.workloads.v0.WorkloadService', 'aurae.workloads.v0.CellService', 'aurae.cells.v0.CellService', 'aurae.node.v0.ObserveService', 'aurae.observe.v0.ObserveService']) {
      expect({ service, ...await unary(health, 'Check', { service }) }).toEqual({ service, status: 'SERVING' })
    }
  })

  it('says NOT_FOUND to a Check of a service it does not serve, and SERVICE_UNKNOWN to a Watch, which stays open', async () => {
    await expect(unary(health, 'Check', { service: 'aurae.cells.v0.Nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })
    const seen: string[] = []
    let ended = false
    const watch = health.Watch({ service: 'nope.v1.Nope' })
    watch.on('data', (res: { status: string }) => seen.push(res.status))
    watch.on('error', () => { ended = true })
    watch.on('end', () => { ended = true })
    await until('the first status', () => seen.length === 1)
    expect(seen).toEqual(['SERVICE_UNKNOWN'])
    // Still open: the caller ends it.
    expect(ended).toBe(false)
    watch.cancel()
    await until('the cancelled Watch to end', () => ended)
  })
})
