import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

describe('restart policies restart with backoff', () => {
  let node: TestNode
  // The workload keeps its count outside the node's directory, which executables cannot see.
  const work = mkdtempSync(join(tmpdir(), 'aurae-restarts-'))
  beforeAll(async () => { node = await startNode('restarts') })
  afterAll(async () => {
    await node.stop()
    rmSync(work, { recursive: true, force: true })
  })

  it('on-failure restarts a failing workload until it succeeds', async () => {
    const marker = join(work, 'count')
    // Fails twice, then succeeds.
    const script = `n=$(cat ${marker} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${marker}; echo run $n; [ $n -ge 3 ]`
    const res = await node.cli(['exec', 'flaky', '--restart', 'on-failure', '--', 'sh', '-c', script])
    expect(res.code).toBe(0)
    expect(res.stdout).toBe('run 1\nrun 2\nrun 3\n')
    expect(await workload(node, 'flaky')).toMatchObject({ state: 'exited', exitCode: 0, restarts: 2 })
  })

  it('always restarts even after success, and stop ends it', async () => {
    await node.cli(['exec', 'looper', '-d', '--restart', 'always', '--', 'sh', '-c', 'echo tick'])
    await until('three restarts', async () => (await workload(node, 'looper')).restarts >= 3)
    const stop = await node.cli(['stop', 'looper'])
    expect(stop.code).toBe(0)
    const w = await workload(node, 'looper')
    expect(w.state).toBe('exited')
    const restarts = w.restarts
    const logs = (await node.cli(['logs', 'looper'])).stdout
    // One line a run; the last run may have been stopped before it printed.
    const ticks = logs.split('\n').filter(l => l === 'tick').length
    expect(ticks).toBeGreaterThanOrEqual(restarts)
    expect(ticks).toBeLessThanOrEqual(restarts + 1)
  })

  it('no policy means one run', async () => {
    const res = await node.cli(['exec', 'single', '--', 'sh', '-c', 'exit 1'])
    expect(res.code).toBe(1)
    expect(await workload(node, 'single')).toMatchObject({ state: 'exited', exitCode: 1, restarts: 0 })
  })
})
