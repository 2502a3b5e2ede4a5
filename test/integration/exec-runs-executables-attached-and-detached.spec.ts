import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childrenOf, startNode, until, workload, type TestNode } from '../helpers/node.ts'

describe('exec runs executables attached and detached', () => {
  let node: TestNode
  beforeAll(async () => { node = await startNode('alice@example.org') })
  afterAll(async () => { await node.stop() })

  it('streams stdout and stderr apart and exits with the workload\'s code', async () => {
    const res = await node.cli(['exec', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3'])
    expect(res).toEqual({ code: 3, stdout: 'hi\n', stderr: 'oops\n' })
  })

  it('exits 128+N when the workload dies of signal N', async () => {
    const res = await node.cli(['exec', 'killed', '--', 'sh', '-c', 'kill -9 $$'])
    expect(res.code).toBe(137)
    expect(await workload(node, 'killed')).toMatchObject({ state: 'exited', exitCode: null, signal: 'SIGKILL' })
  })

  it('passes environment, working directory and output without a trailing newline', async () => {
    const res = await node.cli(['exec', '-e', 'GREETING=hello world', '--workdir', '/tmp', '--', 'sh', '-c', 'printf "%s in %s" "$GREETING" "$(pwd)"'])
    expect(res).toEqual({ code: 0, stdout: 'hello world in /tmp', stderr: '' })
  })

  it('forwards Ctrl-C to the workload as SIGINT', async () => {
    const child = node.spawnCli(['exec', 'interrupted', '--', 'sh', '-c', 'trap "echo got INT; exit 42" INT; echo ready; while true; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout?.on('data', d => { out += String(d) })
    const exited = new Promise(resolve => child.on('exit', resolve))
    await until('the workload to be ready', () => out.includes('ready'))
    child.kill('SIGINT')
    const code = await exited
    expect(code).toBe(42)
    expect(out).toBe('ready\ngot INT\n')
  })

  it('reports a command that does not exist as 127 with one line', async () => {
    const res = await node.cli(['exec', 'missing', '--', 'no-such-command-here'])
    expect(res.code).toBe(127)
    expect(res.stdout).toBe('')
    expect(res.stderr.trim().split('\n')).toHaveLength(1)
    expect(res.stderr).toMatch(/no-such-command-here.*No such file or directory/)
  })

  it('runs detached, lists it, shows and follows its logs, stops and removes it', async () => {
    const start = await node.cli(['exec', 'web', '-d', '--memory', '64M', '--', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo line $i; echo err $i >&2; sleep 0.05; done'])
    expect(start).toEqual({ code: 0, stdout: 'web\n', stderr: '' })

    const json = (await node.cli(['ps', '--json'])).stdout
    const web = JSON.parse(json).find((w: any) => w.name === 'web')
    expect(web).toMatchObject({ name: 'web', kind: 'executable', state: 'running', exitCode: null, signal: null, restarts: 0 })
    expect(web.pid).toBeGreaterThan(0)
    expect(web.limits.memoryBytes).toBe(64 * 1024 * 1024)

    const table = (await node.cli(['ps'])).stdout.split('\n')
    expect(table[0].split(/\s+/)).toEqual(['NAME', 'KIND', 'IMAGE', 'STATE', 'PID', 'EXIT', 'UPTIME', 'RESTARTS', 'PORTS'])
    expect(table.find(l => l.startsWith('web '))?.split(/\s+/).slice(0, 6)).toEqual(['web', 'executable', '-', 'running', String(web.pid), '-'])

    await until('some output', async () => (await node.cli(['logs', 'web'])).stdout.includes('line 3\n'))
    const tail = await node.cli(['logs', 'web', '--tail', '2'])
    expect(tail.stdout.trim().split('\n')).toHaveLength(1)
    expect(tail.stdout).toMatch(/^line \d+\n$/)
    expect(tail.stderr).toMatch(/^err \d+\n$/)

    const follower = node.spawnCli(['logs', 'web', '-f'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let followed = ''
    follower.stdout?.on('data', d => { followed += String(d) })
    follower.stderr?.resume()
    const followerExit = new Promise(resolve => follower.on('exit', resolve))
    const seen = Number(/line (\d+)\n$/.exec((await node.cli(['logs', 'web'])).stdout)?.[1])
    await until('the follower to see new lines', () => followed.includes(`line ${seen + 5}\n`))

    const stop = await node.cli(['stop', 'web'])
    expect(stop).toEqual({ code: 0, stdout: 'web\n', stderr: '' })
    expect(await followerExit).toBe(0)
    expect(await workload(node, 'web')).toMatchObject({ state: 'exited', signal: 'SIGTERM', pid: null })
    expect((await node.cli(['ps'])).stdout).not.toMatch(/^web /m)
    expect((await node.cli(['ps', '--all'])).stdout).toMatch(/^web +executable +- +exited +- +SIGTERM/m)

    expect(await node.cli(['rm', 'web'])).toEqual({ code: 0, stdout: 'web\n', stderr: '' })
    expect(await workload(node, 'web')).toBeUndefined()
    const gone = await node.cli(['logs', 'web'])
    expect(gone.code).toBe(1)
    expect(gone.stderr.trim()).toBe('aurae: no workload named web')
  })

  it('escalates to SIGKILL when a workload ignores SIGTERM past --timeout', async () => {
    await node.cli(['exec', 'stubborn', '-d', '--', 'sh', '-c', 'trap "" TERM; echo up; while true; do sleep 0.05; done'])
    await until('it to start', async () => (await node.cli(['logs', 'stubborn'])).stdout === 'up\n')
    const stop = await node.cli(['stop', 'stubborn', '--timeout', '1'])
    expect(stop.code).toBe(0)
    expect(await workload(node, 'stubborn')).toMatchObject({ state: 'exited', signal: 'SIGKILL' })
  })

  it('stops several workloads at once and names each in the order given', async () => {
    // Each leaves cleanly on SIGTERM only once the other has had its SIGTERM too: stopped one after
    // the other, the first would be SIGKILLed at its timeout.
    const dir = mkdtempSync(join(tmpdir(), 'aurae-stop-'))
    const waiter = (me: string, other: string): string => `trap 'touch ${dir}/${me}; while [ ! -e ${dir}/${other} ]; do sleep 0.05; done; exit 0' TERM; while :; do sleep 0.05; done`
    await node.cli(['exec', 'pair-a', '-d', '--', 'sh', '-c', waiter('a', 'b')])
    await node.cli(['exec', 'pair-b', '-d', '--', 'sh', '-c', waiter('b', 'a')])
    const res = await node.cli(['stop', 'pair-a', 'pair-b', 'nope', '--timeout', '5'])
    expect(res).toEqual({ code: 1, stdout: 'pair-a\npair-b\n', stderr: 'aurae: no workload named nope\n' })
    expect(await workload(node, 'pair-a')).toMatchObject({ state: 'exited', exitCode: 0, signal: null })
    expect(await workload(node, 'pair-b')).toMatchObject({ state: 'exited', exitCode: 0, signal: null })
    expect((await node.cli(['rm', 'pair-a', 'pair-b'])).stdout).toBe('pair-a\npair-b\n')
    rmSync(dir, { recursive: true, force: true })
  })

  it('learns of every exit when many workloads stop in the same instant', async () => {
    // Their ends are recorded together: a waiter that missed one would hold stop for its whole
    // timeout (here far past the test's own).
    const names = Array.from({ length: 30 }, (_, i) => `many-${i}`)
    await Promise.all(names.map(async n => await node.cli(['exec', n, '-d', '--', 'sleep', '300'])))
    const res = await node.cli(['stop', ...names, '--timeout', '600'])
    expect(res).toEqual({ code: 0, stdout: names.map(n => `${n}\n`).join(''), stderr: '' })
    for (const n of names) expect(await workload(node, n)).toMatchObject({ state: 'exited', signal: 'SIGTERM' })
    expect((await node.cli(['rm', ...names])).code).toBe(0)
  })

  it('refuses to remove a running workload without --force, and removes it with', async () => {
    await node.cli(['exec', 'busy', '-d', '--', 'sleep', '300'])
    const rm = await node.cli(['rm', 'busy'])
    expect(rm.code).toBe(1)
    expect(rm.stderr.trim()).toBe('aurae: workload busy is running; stop it first or use --force')
    const { pid } = await workload(node, 'busy')
    expect((await node.cli(['rm', '-f', 'busy'])).code).toBe(0)
    expect(await workload(node, 'busy')).toBeUndefined()
    await until('the process to be gone', () => { try { process.kill(pid, 0); return false } catch { return true } })
  })

  it('removes an attached workload after it exits with --rm', async () => {
    const res = await node.cli(['exec', 'once', '--rm', '--', 'true'])
    expect(res.code).toBe(0)
    expect(await workload(node, 'once')).toBeUndefined()
  })
})

describe('workloads leave nothing behind', () => {
  it('reaps every process: no zombies under the daemon, its launcher or monitors, and daemonized children are cleared with the cell', async () => {
    const node = await startNode('tidy')
    for (let i = 0; i < 5; i++) {
      expect((await node.cli(['exec', `bg${i}`, '--', 'sh', '-c', 'sleep 30 & echo $!'])).code).toBe(0)
    }
    const orphans = await Promise.all([0, 1, 2, 3, 4].map(async i => Number((await node.cli(['logs', `bg${i}`])).stdout)))
    for (const pid of orphans) await until(`orphan ${pid} to be killed with its cell`, () => { try { process.kill(pid, 0); return false } catch { return true } })
    const daemon = await node.daemonPid()
    // The daemon's children (the launcher) and theirs (monitors, which the launcher must reap).
    const descendants = childrenOf(daemon).flatMap(p => [p, ...childrenOf(p)])
    expect(descendants.length).toBeGreaterThan(0)
    const zombies = descendants.filter(p => {
      try { return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].startsWith('Z') } catch { return false }
    })
    expect(zombies).toEqual([])
    await node.stop()
  })
})
