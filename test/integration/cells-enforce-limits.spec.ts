import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

// These run for real on the host's cgroups (v1 on the test machines).
const cgroupDir = (node: TestNode, controller: string, name: string): string =>
  join('/sys/fs/cgroup', controller, 'aurae', createHash('sha256').update(node.data).digest('hex').slice(0, 12), `wl-${name}`)
const read = (path: string): string => readFileSync(path, 'utf8').trim()

describe('cells enforce their limits', () => {
  let node: TestNode
  beforeAll(async () => { node = await startNode('cells') })
  afterAll(async () => { await node.stop() })

  it('puts the workload in cgroups with the limits asked for, and removes them after it exits', async () => {
    await node.cli(['exec', 'limited', '-d', '--cpus', '0.5', '--memory', '64M', '--pids', '20', '--', 'sleep', '300'])
    const { pid } = await workload(node, 'limited')
    expect(read(join(cgroupDir(node, 'cpu', 'limited'), 'cpu.cfs_quota_us'))).toBe('50000')
    expect(read(join(cgroupDir(node, 'cpu', 'limited'), 'cpu.cfs_period_us'))).toBe('100000')
    expect(read(join(cgroupDir(node, 'memory', 'limited'), 'memory.limit_in_bytes'))).toBe(String(64 * 1024 * 1024))
    expect(read(join(cgroupDir(node, 'pids', 'limited'), 'pids.max'))).toBe('20')
    for (const c of ['cpu', 'memory', 'pids']) {
      expect(read(join(cgroupDir(node, c, 'limited'), 'cgroup.procs')).split('\n')).toContain(String(pid))
    }
    await node.cli(['stop', 'limited', '--timeout', '0'])
    for (const c of ['cpu', 'memory', 'pids']) expect(existsSync(cgroupDir(node, c, 'limited'))).toBe(false)
  })

  it('kills a memory hog and reports it as OOM', async () => {
    const res = await node.cli(['exec', 'hog', '--memory', '32M', '--', 'python3', '-c', 'b = bytearray(256 * 1024 * 1024); print("survived")'])
    expect(res.code).toBe(137)
    expect(res.stdout).toBe('')
    expect(res.stderr).toContain('hog was killed for using more than its memory limit (32M)')
    expect(await workload(node, 'hog')).toMatchObject({ state: 'exited', signal: 'SIGKILL', oomKilled: true })
    // As a container's: one form for an OOM kill, whatever the kind.
    expect((await node.cli(['ps', '--all'])).stdout).toMatch(/^hog .* 137 \(oom\)/m)
    // A child the OOM killer took, and a main process that ends by itself: still OOM-killed, as Docker says.
    const parent = await node.cli(['exec', 'parent', '--memory', '32M', '--', 'sh', '-c', 'python3 -c "b = bytearray(256 * 1024 * 1024)"; echo carried on'])
    expect(parent).toMatchObject({ code: 0, stdout: 'carried on\n' })
    expect(parent.stderr).toContain('a process of parent was killed for using more than its memory limit (32M)')
    expect(await workload(node, 'parent')).toMatchObject({ state: 'exited', exitCode: 0, oomKilled: true })
  })

  it('stops a fork bomb at the pids limit, and stop clears the whole cell', async () => {
    await node.cli(['exec', 'bomb', '-d', '--pids', '32', '--', 'sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 300'])
    const pids = join(cgroupDir(node, 'pids', 'bomb'), 'pids.events')
    await until('the pids limit to refuse forks', () => Number(/max (\d+)/.exec(read(pids))?.[1] ?? 0) > 0)
    expect(Number(read(join(cgroupDir(node, 'pids', 'bomb'), 'pids.current')))).toBeLessThanOrEqual(32)
    const stop = await node.cli(['stop', 'bomb', '--timeout', '0'])
    expect(stop.code).toBe(0)
    expect(existsSync(cgroupDir(node, 'pids', 'bomb'))).toBe(false)
    expect((await workload(node, 'bomb')).state).toBe('exited')
  })

  it('throttles a busy loop to its CPU quota', async () => {
    await node.cli(['exec', 'spin', '-d', '--cpus', '0.1', '--', 'sh', '-c', 'while :; do :; done'])
    const stat = join(cgroupDir(node, 'cpu', 'spin'), 'cpu.stat')
    await until('the kernel to throttle it', () => Number(/nr_throttled (\d+)/.exec(read(stat))?.[1] ?? 0) >= 3)
    await node.cli(['stop', 'spin', '--timeout', '0'])
  })
})
