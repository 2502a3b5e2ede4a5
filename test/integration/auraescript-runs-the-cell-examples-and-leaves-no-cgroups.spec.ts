// The cell examples in examples/ (the original's calls, its import paths), run by the real auraescript bin against a
// real node's aurae.cells.v0.CellService: what each prints and how it exits, cell_validation_errors ending with its
// FAILED_PRECONDITION; cells_on_peers on two peered nodes; and no cgroup of an `ae-` cell left behind.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runScript } from '../helpers/auraescript.ts'
import { ROOT, startNode, type TestNode } from '../helpers/node.ts'

/** The cgroups named like the examples' cells, on every hierarchy (v1's included). */
function aeCgroups (): string[] {
  const out = execFileSync('find', ['/sys/fs/cgroup', '-name', 'ae-*'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  return out.split('\n').filter(p => /\/ae-(sleeper|echo|quota|memory|net|proc|net-proc|peer)-cell(-\d+)?$/.test(p))
}

describe('auraescript runs the cell examples against a node', () => {
  let alice: TestNode
  let emily: TestNode
  let before: string[]
  const home = mkdtempSync(join(tmpdir(), 'auraescript-cells-'))
  const example = async (name: string, args: string[] = []): Promise<Awaited<ReturnType<typeof runScript>>> =>
    await runScript(join(ROOT, 'examples', `${name}.ts`), args, home, { AURAE_SOCK: alice.sock })
  beforeAll(async () => {
    before = aeCgroups()
    alice = await startNode('alice@example.org')
    emily = await startNode('emily@example.org')
    const peered = await alice.cli(['proxy', (await emily.cli(['proxy'])).stdout.trim()])
    if (peered.code !== 0) throw new Error(peered.stderr)
  })
  afterAll(async () => {
    await alice?.stop()
    await emily?.stop()
    rmSync(home, { recursive: true, force: true })
  })

  it('cells: allocates a cell with a CPU limit, starts, stops, frees', async () => {
    const res = await example('cells')
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/^Allocated: \{\n {2}"cellName": "ae-sleeper-cell",\n {2}"cgroupV2": (true|false)\n\}\nStarted: \{\n {2}"pid": [1-9]\d*,[^]*\}\nStopped: \{\}\nFreed: \{\}\n$/)
  })

  for (const [name, lines] of [
    ['cells_output', /^Started echo-stdout: \{[^]*"pid": [1-9][^]*Started echo-stderr: \{[^]*Freed ae-echo-cell\n$/],
    ['cells_quota', /^Allocated: \{\n {2}"cellName": "ae-quota-cell"[^]*Started: \{[^]*Freed ae-quota-cell\n$/],
    ['cells_memory', /^\{\n {2}"cellName": "ae-memory-cell"[^]*"pid": [1-9][^]*\n\{\}\n\{\}\n$/],
    ['cells_isolated_network', /^\{\n {2}"cellName": "ae-net-cell"[^]*"pid": [1-9][^]*Freed ae-net-cell\n$/],
    ['cells_isolated_processes', /^\{\n {2}"cellName": "ae-proc-cell"[^]*"pid": [1-9][^]*Freed ae-proc-cell\n$/],
    ['cells_isolated_processes_and_network', /^\{\n {2}"cellName": "ae-net-proc-cell"(?:[^]*"pid": [1-9]){3}[^]*Freed ae-net-proc-cell\n$/]
  ] as const) {
    it(`${name}: runs to its end`, async () => {
      const res = await example(name)
      expect(res.stderr).toBe('')
      expect(res.code).toBe(0)
      expect(res.stdout).toMatch(lines)
    })
  }

  it('cell_validation_errors: ends with the node\'s FAILED_PRECONDITION, at the script\'s line', async () => {
    const res = await example('cell_validation_errors')
    expect(res.code).toBe(1)
    expect(res.stdout).toBe('')
    expect(res.stderr).toMatch(new RegExp(`^auraescript: error: FAILED_PRECONDITION: .*ae-no_underscore.*\n    at ${join(ROOT, 'examples', 'cell_validation_errors.ts')}:8:19\n$`))
  })

  it('cells_on_peers: runs the same cell on the node and on its trusted peer through aurae.peer()', async () => {
    const res = await example('cells_on_peers', ['emily'])
    expect(res.stderr).toBe('')
    expect(res.code).toBe(0)
    expect(res.stdout.split('\n').filter(Boolean).sort()).toEqual([
      expect.stringMatching(/^emily: auraed \S+, healthy true, hostname started as pid [1-9]\d*$/),
      expect.stringMatching(/^this node: auraed \S+, healthy true, hostname started as pid [1-9]\d*$/)
    ])
  })

  it('leaves no cgroup of an ae- cell behind', () => {
    expect(aeCgroups().filter(p => !before.includes(p))).toEqual([])
  })
})
