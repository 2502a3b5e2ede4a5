// AuraeScript's start: `auraescript` running a discovery_discover-style script end to end (its start, the transpile,
// the SDK, one call to a real node, its exit), next to `node -e 0`. Warm: the script's transpiled text is in the
// cache, as on every run after its first; cold: each run with an empty cache, so esbuild transpiles it.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const AURAE = join(root, 'bin', 'aurae.js')
const AURAESCRIPT = join(root, 'bin', 'auraescript.js')
const SCRIPT = join(root, 'examples', 'discovery_discover.ts')
const N = 20
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
    const w = median(warm)
    const b = median(bare)
    const c = median(cold)
    return [
      [`auraescript discovery_discover.ts, end to end (median of ${N})`, `${w.toFixed(1)} ms`, `node -e 0: ${b.toFixed(1)} ms`, `${(w / b).toFixed(2)}x`, '<= 4x'],
      [`  the same, its first run: transpiled by esbuild (median of ${cold.length})`, `${c.toFixed(1)} ms`, `node -e 0: ${b.toFixed(1)} ms`, `${(c / b).toFixed(2)}x`, '']
    ]
  } finally {
    cli('down')
    rmSync(dir, { recursive: true, force: true })
  }
}
