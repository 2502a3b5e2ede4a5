// Unpacking a layer next to GNU `tar -xzf` of the same layer: a realistic one, built from Debian's /usr.
import { spawnSync } from 'node:child_process'
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGunzip } from 'node:zlib'
import { applyLayer } from '../dist/runtime/image/unpack.js'

const SOURCES = (process.env.BENCH_UNPACK_DIRS ?? 'usr/share/doc usr/share/perl usr/share/zoneinfo usr/lib/python3 usr/include').split(' ')
const RUNS = Number(process.env.BENCH_UNPACK_RUNS ?? 5)
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** Milliseconds `fn` takes to unpack into a fresh directory, after the disk has settled. */
async function timed (dir, fn) {
  const target = join(dir, 'out')
  rmSync(target, { recursive: true, force: true })
  mkdirSync(target)
  spawnSync('sync')
  const t0 = process.hrtime.bigint()
  await fn(target)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  rmSync(target, { recursive: true, force: true })
  return ms
}

/** The unpack section: aurae's applyLayer and GNU tar on one gzip layer, run in turn so both meet the same load. */
export async function unpackBench () {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-bench-unpack-'))
  try {
    const layer = join(dir, 'layer.tar.gz')
    const made = spawnSync('tar', ['-czf', layer, '--numeric-owner', '-C', '/', ...SOURCES])
    if (made.status !== 0) throw new Error(`tar -czf failed: ${made.stderr}`)
    const entries = Number(spawnSync('sh', ['-c', `tar -tzf ${layer} | wc -l`], { encoding: 'utf8' }).stdout.trim())
    const tar = []
    const aurae = []
    for (let i = 0; i < RUNS; i++) {
      tar.push(await timed(dir, async target => {
        const r = spawnSync('tar', ['-xzf', layer, '-C', target, '--numeric-owner'])
        if (r.status !== 0) throw new Error(`tar -xzf failed: ${r.stderr}`)
      }))
      aurae.push(await timed(dir, async target => await applyLayer(createReadStream(layer).pipe(createGunzip({ chunkSize: 256 * 1024 })), target)))
    }
    const [t, a] = [median(tar), median(aurae)]
    return [[`unpack a ${(statSync(layer).size / 1e6).toFixed(0)} MB gzip layer of ${entries} entries from /usr (median of ${RUNS})`, `${a.toFixed(0)} ms`, `tar -xzf: ${t.toFixed(0)} ms`, `${(a / t).toFixed(2)}x`, '<= 1.2x']]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
