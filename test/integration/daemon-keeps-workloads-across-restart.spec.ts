import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { Store } from '../../src/store/store.ts'
import type { WorkloadRecord } from '../../src/runtime/workload.ts'
import { isAlive, startNode, until, workload, type TestNode } from '../helpers/node.ts'

describe('the daemon keeps workloads across a restart', () => {
  let node: TestNode | undefined
  // Gates live outside the node's directory, which its executables cannot see.
  const gates = mkdtempSync(join(tmpdir(), 'aurae-gates-'))
  afterEach(async () => { await node?.stop(); node = undefined })
  afterAll(() => rmSync(gates, { recursive: true, force: true }))

  it('re-adopts a running workload after kill -9: same process, logs still flowing, exit code learned', async () => {
    node = await startNode('survivor')
    const gate = join(gates, 'counter')
    await node.cli(['exec', 'counter', '-d', '--', 'sh', '-c', `i=0; while [ ! -e ${gate} ]; do i=$((i+1)); echo tick $i; sleep 0.05; done; exit 7`])
    const before = await workload(node, 'counter')
    const daemon = await node.daemonPid()
    process.kill(daemon, 'SIGKILL')
    await until('the daemon to die', () => !isAlive(daemon))
    expect(isAlive(before.pid)).toBe(true)

    expect((await node.up()).code).toBe(0)
    const after = await workload(node, 'counter')
    expect(after).toMatchObject({ state: 'running', pid: before.pid, restarts: 0 })
    const seen = Number(/tick (\d+)\n$/.exec((await node.cli(['logs', 'counter'])).stdout)?.[1])
    await until('new lines after the restart', async () => (await node!.cli(['logs', 'counter'])).stdout.includes(`tick ${seen + 3}\n`))

    const follower = node.spawnCli(['logs', 'counter', '-f', '--tail', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let followed = ''
    follower.stdout?.on('data', d => { followed += String(d) })
    const followerExit = new Promise(resolve => follower.on('exit', resolve))
    await until('the follower to see a line', () => followed.includes('tick'))
    spawn('touch', [gate])
    expect(await followerExit).toBe(0)
    await until('the exit to be recorded', async () => (await workload(node!, 'counter')).state === 'exited')
    expect(await workload(node, 'counter')).toMatchObject({ state: 'exited', exitCode: 7, signal: null })
  })

  it('learns the exit code of a workload that ended while the daemon was down', async () => {
    node = await startNode('survivor')
    const gate = join(gates, 'brief')
    await node.cli(['exec', 'brief', '-d', '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo done; exit 5`])
    const { pid } = await workload(node, 'brief')
    const daemon = await node.daemonPid()
    process.kill(daemon, 'SIGKILL')
    await until('the daemon to die', () => !isAlive(daemon))
    spawn('touch', [gate])
    await until('the workload to end', () => !isAlive(pid))

    expect((await node.up()).code).toBe(0)
    await until('the exit to be recorded', async () => (await workload(node!, 'brief')).state === 'exited')
    expect(await workload(node, 'brief')).toMatchObject({ exitCode: 5, signal: null })
    expect((await node.cli(['logs', 'brief'])).stdout).toBe('done\n')
  })

  it('does not mistake a process that reused a recorded PID for the workload', async () => {
    node = await startNode('survivor')
    await node.cli(['exec', 'ghost', '-d', '--', 'sleep', '300'])
    const before = await workload(node, 'ghost')
    expect((await node.cli(['down', '--keep-workloads'])).code).toBe(0)
    // The workload and its monitor vanish without a trace while the daemon is down...
    const monitor = Number((await import('node:fs')).readFileSync(`/proc/${before.pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])
    process.kill(monitor, 'SIGKILL')
    process.kill(before.pid, 'SIGKILL')
    await until('both to be gone', () => !isAlive(monitor) && !isAlive(before.pid))
    // ...and an unrelated process now holds the PIDs on record.
    const stranger = spawn('sleep', ['300'], { stdio: 'ignore' })
    const store = await Store.open(join(node.data, 'store'))
    const workloads = store.table<WorkloadRecord>('workloads')
    const rec = (await workloads.get('ghost'))!
    await workloads.put('ghost', { ...rec, pid: stranger.pid!, monitorPid: stranger.pid! })
    await store.stop()

    expect((await node.up()).code).toBe(0)
    await until('the workload to be marked ended', async () => (await workload(node!, 'ghost')).state === 'exited')
    const ghost = await workload(node, 'ghost')
    expect(ghost.error).toMatch(/monitor died; its exit status is unknown/)
    await node.cli(['rm', 'ghost'])
    expect(isAlive(stranger.pid!)).toBe(true)
    stranger.kill('SIGKILL')
  })

  it('keeps its records when stopped cleanly, and stops workloads on a plain down', async () => {
    node = await startNode('survivor')
    await node.cli(['exec', 'ended', '--', 'sh', '-c', 'exit 4'])
    await node.cli(['exec', 'running', '-d', '--', 'sleep', '300'])
    const { pid } = await workload(node, 'running')
    const down = await node.cli(['down'])
    expect(down.code).toBe(0)
    expect(down.stderr).toContain('1 workload stopped')
    expect(isAlive(pid)).toBe(false)
    expect((await node.up()).code).toBe(0)
    expect(await workload(node, 'ended')).toMatchObject({ state: 'exited', exitCode: 4 })
    expect(await workload(node, 'running')).toMatchObject({ state: 'exited', signal: 'SIGTERM' })
  })
})
