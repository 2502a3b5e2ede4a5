import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, type TestNode } from '../helpers/node.ts'

describe('workload logs rotate at their size cap', () => {
  let node: TestNode
  beforeAll(async () => { node = await startNode('rotating', ['--log-max-bytes', '4096', '--log-files', '3', '--listen', '/ip4/127.0.0.1/tcp/0']) })
  afterAll(async () => { await node.stop() })

  it('keeps at most three files of about the cap, and logs still read in order across them', async () => {
    const res = await node.cli(['exec', 'chatty', '--', 'sh', '-c', 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo "line $i"; done'])
    expect(res.code).toBe(0)
    const files = readdirSync(join(node.data, 'logs')).filter(f => f.startsWith('chatty.log'))
    // Rotated files keep the number they got: the two newest of the 20 or so rotations are left.
    const rotated = files.filter(f => f !== 'chatty.log').map(f => Number(/^chatty\.log\.(\d+)$/.exec(f)?.[1])).sort((a, b) => a - b)
    expect(files).toHaveLength(3)
    expect(files).toContain('chatty.log')
    expect(rotated[1]).toBe(rotated[0] + 1)
    expect(rotated[0]).toBeGreaterThan(10)
    for (const f of files) expect(statSync(join(node.data, 'logs', f)).size).toBeLessThanOrEqual(4096)
    const lines = (await node.cli(['logs', 'chatty'])).stdout.trim().split('\n')
    const numbers = lines.map(l => Number(l.split(' ')[1]))
    expect(numbers.at(-1)).toBe(2000)
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i))
    expect(numbers[0]).toBeGreaterThan(1)
  })
})
