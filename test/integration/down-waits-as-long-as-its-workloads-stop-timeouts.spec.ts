import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { AURAE, isAlive, run, startNode, until, workload, type TestNode } from '../helpers/node.ts'

// A process that ignores SIGTERM, so only the SIGKILL at the end of its stop timeout ends it.
const STUBBORN = 'trap "" TERM; echo ready; while :; do sleep 1; done'

describe('down waits as long as its workloads\' stop timeouts', () => {
  let registry: TestRegistry
  let node: TestNode | undefined
  let image: string
  let frozen: number | undefined
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer()])
    image = `${registry.host}/busybox`
  })
  afterEach(async () => {
    if (frozen !== undefined && isAlive(frozen)) process.kill(frozen, 'SIGCONT')
    frozen = undefined
    await node?.stop()
    node = undefined
  })
  afterAll(() => registry?.stop())

  const stubborn = async (n: TestNode, name: string): Promise<void> => {
    const res = await n.cli(['run', image, '--name', name, '-d', '--net', 'none', '--stop-timeout', '20', '--', 'sh', '-c', STUBBORN])
    expect(res.code, res.stderr).toBe(0)
    await until(`${name} to be ready`, async () => (await n.cli(['logs', name])).stdout === 'ready\n')
  }

  it('stops a workload whose --stop-timeout is longer than 15 s, and says so on a terminal', async () => {
    node = await startNode('stubborn')
    await stubborn(node, 'slow')
    const pid = (await workload(node, 'slow')).pid as number
    // script(1) gives the CLI a terminal, where it shows what it waits for.
    const down = await run('script', ['-qec', [process.execPath, AURAE, '--sock', node.sock, 'down'].join(' '), '/dev/null'])
    expect(down.code, down.stdout).toBe(0)
    expect(down.stdout).toContain('stopping 1 workload…')
    expect(down.stdout).toContain('auraed stopped (1 workload stopped)')
    expect(isAlive(pid)).toBe(false)
    expect((await node.up()).code).toBe(0)
    expect(await workload(node, 'slow')).toMatchObject({ state: 'exited', exitCode: 137 })
  }, 120_000)

  it('gives up in one line with exit 1 when the daemon truly hangs', async () => {
    node = await startNode('hangs')
    frozen = await node.daemonPid()
    process.kill(frozen, 'SIGSTOP')
    const down = await node.cli(['down'])
    expect(down).toEqual({ code: 1, stdout: '', stderr: 'aurae: auraed did not stop within 25s\n' })
  }, 120_000)
})
