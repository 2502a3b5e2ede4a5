// The original Aurae's service names mean what they mean there: the node's own cell and observe services live in
// packages of their own (aurae.workloads.v0, aurae.node.v0), so an original client's call, whose messages differ,
// never lands on them. Here the original's CellService/Stop{cell_name, executable_name}, sent by a client that
// proto-loader makes from the original's field list, names a cell that is also the name of a running workload: it
// once decoded as "stop that workload". Now the node serves the original's cells, which have no cell of that name:
// the call is answered NOT_FOUND, and nothing stops.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

/** The original's cells and observe services, as far as these calls go: their messages by its field numbers. */
const ORIGINAL = `syntax = "proto3";
package aurae.cells.v0;
service CellService {
  rpc Stop(CellServiceStopRequest) returns (CellServiceStopResponse);
  rpc Free(CellServiceFreeRequest) returns (CellServiceFreeResponse);
}
message CellServiceStopRequest { optional string cell_name = 1; string executable_name = 2; }
message CellServiceStopResponse {}
message CellServiceFreeRequest { string cell_name = 1; }
message CellServiceFreeResponse {}
`

describe('the original\'s service names are left to the original\'s messages', () => {
  let node: TestNode
  let dir: string
  let cells: any
  /** The workload named web, as it was started: still running, it has the same PID. */
  let web: { pid: number }
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-original-'))
    writeFileSync(join(dir, 'cells.proto'), ORIGINAL)
    node = await startNode('names')
    const pkg = grpc.loadPackageDefinition(loader.loadSync(join(dir, 'cells.proto'), { keepCase: true, defaults: true })) as any
    cells = new pkg.aurae.cells.v0.CellService(`unix:${node.sock}`, grpc.credentials.createInsecure())
    expect((await node.cli(['exec', 'web', '-d', '--', 'sleep', '1000'])).code).toBe(0)
    web = await until('web to run', async () => { const w = await workload(node, 'web'); return w?.state === 'running' && w.pid > 0 ? w : undefined })
  })
  afterAll(async () => {
    cells?.close()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const call = async (method: string, req: object): Promise<grpc.ServiceError | null> => await new Promise(resolve => {
    cells[method](req, (err: grpc.ServiceError | null) => resolve(err))
  })

  it('does not take the original\'s CellService/Stop for a stop of the workload its cell is named after', async () => {
    const err = await call('Stop', { cell_name: 'web', executable_name: 'web' })
    expect([err?.code, err?.details]).toEqual([grpc.status.NOT_FOUND, 'no cell named web'])
    const err2 = await call('Free', { cell_name: 'web' })
    expect([err2?.code, err2?.details]).toEqual([grpc.status.NOT_FOUND, 'no cell named web'])
    expect(await workload(node, 'web')).toMatchObject({ state: 'running', pid: web.pid })
  })

  it('serves its own cells under aurae.workloads.v0, as its CLI calls them', async () => {
    expect((await node.cli(['cell', 'allocate', 'web', '--cpus', '1'])).code).toBe(0)
    const ls = JSON.parse((await node.cli(['cell', 'ls', '--json'])).stdout)
    expect(ls).toEqual([expect.objectContaining({ name: 'web' })])
    expect((await node.cli(['cell', 'free', 'web'])).code).toBe(0)
    expect(await workload(node, 'web')).toMatchObject({ state: 'running', pid: web.pid })
  })
})
