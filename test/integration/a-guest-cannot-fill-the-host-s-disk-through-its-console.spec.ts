// A VM's serial console is the guest's to write (its kernel's and its PID 1's lines, and a root workload's too):
// the host keeps its first MiB in the VM's directory and drops the rest, whatever the guest writes.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, type TestNode } from '../helpers/node.ts'
import { busyboxLayer, pushImage, startRegistry } from '../helpers/registry.ts'

describe('a guest cannot fill the host\'s disk through its console', () => {
  let node: TestNode
  let registry: Awaited<ReturnType<typeof startRegistry>>
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'vmconsole', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    node = await startNode('vm-console')
  })
  afterAll(async () => {
    await node?.stop()
    await registry?.stop()
  })

  it('keeps the first MiB of two written to /dev/console, and the run ends as it would', async () => {
    // 2 MiB in lines of 1 KiB, then a word on stdout.
    const script = 'l=x; while [ ${#l} -lt 1023 ]; do l="$l$l"; done; l=${l:0:1023}; i=0; while [ $i -lt 2048 ]; do echo "$l"; i=$((i+1)); done > /dev/console; echo written'
    const res = await node.cli(['run', '--vm', `${registry.host}/vmconsole`, '--net', 'none', '--name', 'loud', '--', 'sh', '-c', script])
    expect(res).toEqual({ code: 0, stdout: 'written\n', stderr: '' })
    expect(statSync(join(node.data, 'containers', 'loud', 'console.log')).size).toBe(2 ** 20)
  }, 180_000)
})
