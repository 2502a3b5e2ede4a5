import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

describe('rm removes only the workload\'s own logs', () => {
  let node: TestNode
  // Small files, so that both workloads have rotated files as well as a live one.
  beforeAll(async () => { node = await startNode('tidy', ['--log-max-bytes', '4096', '--listen', '/ip4/127.0.0.1/tcp/0']) })
  afterAll(async () => { await node?.stop() })

  it('removes x\'s log files and keeps those of a workload named x.log', async () => {
    for (const name of ['x', 'x.log']) {
      expect((await node.cli(['exec', name, '-d', '--', 'seq', '1', '1000'])).code).toBe(0)
      await until(`${name} to exit`, async () => (await workload(node, name))?.state === 'exited')
    }
    const logs = (): string[] => readdirSync(join(node.data, 'logs')).sort()
    const ofOther = logs().filter(f => f.startsWith('x.log.log'))
    expect(ofOther.length).toBeGreaterThan(2)
    expect(logs().filter(f => /^x\.log(\.\d+)?$/.test(f)).length).toBe(ofOther.length)

    expect((await node.cli(['rm', 'x'])).code).toBe(0)
    expect(logs().filter(f => f.startsWith('x.log'))).toEqual(ofOther)
    const left = (await node.cli(['logs', 'x.log'])).stdout.trim().split('\n')
    expect(left.at(-1)).toBe('1000')
    expect(left.length).toBeGreaterThan(100)

    expect((await node.cli(['rm', 'x.log'])).code).toBe(0)
    expect(logs().filter(f => f.startsWith('x'))).toEqual([])
  })
})
