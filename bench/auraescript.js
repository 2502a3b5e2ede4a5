// AuraeScript's start: `auraescript` running a discovery_discover-style script end to end (its start, the transpile,
// the SDK, one call to a real node, its exit), next to `node -e 0`. Warm: the script's transpiled text is in the
// cache, as on every run after its first; cold: each run with an empty cache, so esbuild transpiles it. And its calls:
// 1,000 aurae.cells.v0 Start + Stop pairs from one script, next to the same from a grpc-js client.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const AURAE = join(root, 'bin', 'aurae.js')
const AURAESCRIPT = join(root, 'bin', 'auraescript.js')
const SCRIPT = join(root, 'examples', 'discovery_discover.ts')
const N = 20
const PAIRS = Number(process.env.BENCH_CELL_PAIRS ?? 1000)

/** Start + Stop of `true` in one cell, `n` times, from an AuraeScript script: prints the milliseconds the pairs took. */
const PAIRS_SCRIPT = `import { createClient, print } from "auraescript/aurae";
import * as cells from "auraescript/cells";
const cellService = new cells.CellServiceClient(createClient());
const cellName = "ae-bench-pairs-script";
await cellService.allocate(<cells.CellServiceAllocateRequest>{ cell: { name: cellName } });
const t0 = performance.now();
for (let i = 0; i < Number(process.argv[2]); i++) {
  await cellService.start(<cells.CellServiceStartRequest>{ cellName, executable: { name: \`true-\${i}\`, command: "true" } });
  await cellService.stop(<cells.CellServiceStopRequest>{ cellName, executableName: \`true-\${i}\` });
}
print(performance.now() - t0);
await cellService.free(<cells.CellServiceFreeRequest>{ cellName });
`

/** The same pairs from a grpc-js client made by proto-loader from the .proto alone. */
async function grpcJsPairs (sock) {
  const grpc = await import('@grpc/grpc-js')
  const loader = await import('@grpc/proto-loader')
  const { CellService } = grpc.loadPackageDefinition(loader.loadSync(join(root, 'proto', 'aurae', 'cells', 'v0', 'cells.proto'), { keepCase: true, defaults: true })).aurae.cells.v0
  const client = new CellService(`unix:${sock}`, grpc.credentials.createInsecure())
  const unary = (method, req) => new Promise((resolve, reject) => client[method](req, (err, res) => err === null ? resolve(res) : reject(err)))
  const cell_name = 'ae-bench-pairs-grpc'
  try {
    await unary('Allocate', { cell: { name: cell_name } })
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < PAIRS; i++) {
      await unary('Start', { cell_name, executable: { name: `true-${i}`, command: 'true' } })
      await unary('Stop', { cell_name, executable_name: `true-${i}` })
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    await unary('Free', { cell_name })
    return ms
  } finally {
    client.close()
  }
}
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** As in exec.js: each timed command starts after the same rest, so neither side pays an idle vCPU's wake-up alone. */
const REST_MS = 100

const time = (cmd, args, env = process.env) => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, REST_MS)
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { encoding: 'utf8', env })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return Number(process.hrtime.bigint() - t0) / 1e6
}

export async function auraescriptBench () {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-bench-script-'))
  const sock = join(dir, 'aurae.sock')
  const cli = (...args) => spawnSync(process.execPath, [AURAE, '--sock', sock, ...args], { encoding: 'utf8' })
  const env = cache => ({ ...process.env, AURAE_SOCK: sock, XDG_CACHE_HOME: cache })
  try {
    const up = cli('up', 'scriptbench', '--key', join(dir, 'key'), '--data', join(dir, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0')
    if (up.status !== 0) throw new Error(up.stderr)
    const warmCache = join(dir, 'cache')
    time(process.execPath, [AURAESCRIPT, SCRIPT], env(warmCache))
    const warm = []
    const bare = []
    const cold = []
    for (let i = 0; i < N; i++) {
      bare.push(time(process.execPath, ['-e', '0']))
      warm.push(time(process.execPath, [AURAESCRIPT, SCRIPT], env(warmCache)))
      if (i % 4 === 0) cold.push(time(process.execPath, [AURAESCRIPT, SCRIPT], env(join(dir, `cold-${i}`))))
    }
    const script = join(dir, 'pairs.ts')
    writeFileSync(script, PAIRS_SCRIPT)
    const pairs = spawnSync(process.execPath, [AURAESCRIPT, script, String(PAIRS)], { encoding: 'utf8', env: env(warmCache) })
    if (pairs.status !== 0) throw new Error(`the pairs script failed: ${pairs.stderr}`)
    const scriptMs = Number(pairs.stdout.trim())
    const grpcMs = await grpcJsPairs(sock)
    const w = median(warm)
    const b = median(bare)
    const c = median(cold)
    return [
      [`auraescript discovery_discover.ts, end to end (median of ${N})`, `${w.toFixed(1)} ms`, `node -e 0: ${b.toFixed(1)} ms`, `${(w / b).toFixed(2)}x`, '<= 4x'],
      [`  the same, its first run: transpiled by esbuild (median of ${cold.length})`, `${c.toFixed(1)} ms`, `node -e 0: ${b.toFixed(1)} ms`, `${(c / b).toFixed(2)}x`, ''],
      [`${PAIRS} aurae.cells.v0 Start + Stop pairs of true from one auraescript script`, `${scriptMs.toFixed(0)} ms`, `a grpc-js client: ${grpcMs.toFixed(0)} ms`, `${(scriptMs / grpcMs).toFixed(2)}x`, '']
    ]
  } finally {
    cli('down')
    rmSync(dir, { recursive: true, force: true })
  }
}
