// The original's CellService: 1,000 Start + Stop pairs of `true` from one gRPC client, next to the same through the
// node's own API (aurae.workloads.v0.CellService/Start, then WorkloadService/Remove with force: stop and forget).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'

const PROTO = fileURLToPath(new URL('../proto', import.meta.url))
const N = Number(process.env.BENCH_CELL_PAIRS ?? 1000)

const load = path => grpc.loadPackageDefinition(loader.loadSync(join(PROTO, path), { keepCase: true, defaults: true, longs: Number, includeDirs: [PROTO] }))
const unary = (client, method, req) => new Promise((resolve, reject) => client[method](req, (err, res) => err === null ? resolve(res) : reject(err)))

/** Milliseconds `pair(i)` takes for each of N pairs, in all. */
async function pairs (pair) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) await pair(i)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

export async function cellsBench ({ dir, aurae, listen }) {
  const sock = join(dir, 'cells.sock')
  const cli = (...args) => spawnSync(process.execPath, [aurae, '--sock', sock, ...args], { encoding: 'utf8' })
  const up = cli('up', 'cellbench', '--key', join(dir, 'cells.key'), '--data', join(dir, 'cells'), ...listen)
  if (up.status !== 0) throw new Error(up.stderr)
  const address = `unix:${sock}`
  const original = new (load('aurae/cells/v0/cells.proto').aurae.cells.v0.CellService)(address, grpc.credentials.createInsecure())
  const own = load('aurae/workloads/v0/cells.proto').aurae.workloads.v0
  const ownCells = new own.CellService(address, grpc.credentials.createInsecure())
  const workloads = new (load('aurae/workloads/v0/workloads.proto').aurae.workloads.v0.WorkloadService)(address, grpc.credentials.createInsecure())
  try {
    await unary(original, 'Allocate', { cell: { name: 'ae-bench' } })
    await unary(ownCells, 'Allocate', { name: 'bench' })
    // One pair each first, so neither side pays the first call's connection.
    const originalPair = async i => {
      await unary(original, 'Start', { cell_name: 'ae-bench', executable: { name: `t${i}`, command: 'true' } })
      await unary(original, 'Stop', { cell_name: 'ae-bench', executable_name: `t${i}` })
    }
    const ownPair = command => async i => {
      await unary(ownCells, 'Start', { cell_name: 'bench', name: `t${i}`, executable: { command } })
      await unary(workloads, 'Remove', { name: `t${i}`, force: true })
    }
    await originalPair(-1)
    await ownPair(['true'])(-1)
    const o = await pairs(originalPair)
    const b = await pairs(ownPair(['true']))
    // The original's command runs as `sh -c`: the same shell through the own API says what the layer itself costs.
    const sh = await pairs(ownPair(['/bin/sh', '-c', 'true']))
    await unary(original, 'Free', { cell_name: 'ae-bench' })
    await unary(ownCells, 'Free', { name: 'bench', force: true })
    const total = ms => `${(ms / 1000).toFixed(1)} s (${(ms / N).toFixed(1)} ms)`
    return [
      [`${N} aurae.cells.v0 Start + Stop pairs of true, one client (per pair)`, total(o), `own API, Start + Remove: ${total(b)}`, `${(o / b).toFixed(2)}x`, ''],
      ['  the same next to the own API running sh -c true', '', `own API, sh -c true: ${total(sh)}`, `${(o / sh).toFixed(2)}x`, '']
    ]
  } finally {
    original.close()
    ownCells.close()
    workloads.close()
    cli('down')
  }
}
