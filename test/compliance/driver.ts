// The driver compliance suite: what every kind of workload must do, run against a real auraed through the real CLI
// (as js-libp2p's interface-compliance-tests are run by every transport). A kind passes it by giving a fixture that
// starts a command as a workload of that kind: the executable, container and VM drivers run it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it as test } from 'vitest'
import { isAlive, startNode, until as waitFor, workload, type TestNode } from '../helpers/node.ts'

export interface DriverFixture {
  /** The CLI arguments that start `argv` as workload `name` of this kind, with `flags` (-d, --restart …) before the command. */
  start: (name: string, argv: string[], flags?: string[]) => string[]
  /** Where a workload sees the suite's shared directory (for gates and marks), given its host path. */
  inside: (host: string) => string
  /** The flags that make the shared directory visible to a workload (none where it sees the host's files). */
  share: (host: string) => string[]
  /** How this kind reports a run that ended by SIGKILL: its exit code and signal, as `ps --json` shows them. */
  killed: { exitCode: number | null, signal: string | null }
  close: () => Promise<void>
}

export interface KindUnderTest {
  kind: string
  /** How long one wait of the suite may take (each test, three times that): longer for a kind that boots a machine. */
  patienceMs?: number
  /** Makes what the kind needs beside the node (an image in a registry) and says how to start its workloads. */
  setup: (node: TestNode) => Promise<DriverFixture>
}

export function driverCompliance ({ kind, setup, patienceMs = 20_000 }: KindUnderTest): void {
  // Every wait of the suite, and every test, given the kind's patience.
  const until = async <T>(what: string, check: () => T | Promise<T>): Promise<T> => await waitFor(what, check, patienceMs)
  const it = (name: string, fn: () => Promise<void>): void => { test(name, fn, Math.max(60_000, 3 * patienceMs)) }
  describe(`the ${kind} driver passes the driver compliance suite`, () => {
    let node: TestNode
    let fx: DriverFixture
    let shared: string
    let n = 0
    // Each test's workloads get names of their own, so a test never meets another's leftovers.
    const named = (what: string): string => `${what}-${++n}`
    const sh = (name: string, script: string, flags: string[] = []): string[] => fx.start(name, ['sh', '-c', script], [...fx.share(shared), ...flags])
    const gate = (what: string): { host: string, inside: string } => ({ host: join(shared, what), inside: join(fx.inside(shared), what) })
    const logsOf = async (name: string): Promise<string> => (await node.cli(['logs', name])).stdout
    const ended = async (name: string): Promise<any> => await until(`${name} to exit`, async () => {
      const w = await workload(node, name)
      return w?.state === 'exited' ? w : undefined
    })

    beforeAll(async () => {
      shared = mkdtempSync(join(tmpdir(), 'aurae-compliance-'))
      node = await startNode(`compliance-${kind}`)
      fx = await setup(node)
    })
    afterAll(async () => {
      await node?.stop()
      await fx?.close()
      rmSync(shared, { recursive: true, force: true })
    })

    it('reports its process\'s exit code and output, attached and detached', async () => {
      const attached = named('code')
      const res = await node.cli(sh(attached, 'echo out; echo err >&2; exit 3'))
      expect(res).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' })
      expect(await workload(node, attached)).toMatchObject({ kind, state: 'exited', exitCode: 3, signal: null, oomKilled: false })
      const detached = named('code')
      expect((await node.cli(sh(detached, 'exit 0', ['-d']))).code).toBe(0)
      expect(await ended(detached)).toMatchObject({ exitCode: 0, signal: null })
    })

    it('reports a command that does not exist as 127, and says so last', async () => {
      const name = named('missing')
      const res = await node.cli(fx.start(name, ['/no/such/command']))
      expect(res.code).toBe(127)
      expect(res.stderr.trim().split('\n').pop()).toMatch(/^aurae: .*\/no\/such\/command.*no such file or directory/i)
      expect(await workload(node, name)).toMatchObject({ state: 'exited', exitCode: 127 })
    })

    it('stops gracefully within the timeout, and by force once it has passed', async () => {
      const polite = named('polite')
      await node.cli(sh(polite, 'trap "echo bye; exit 0" TERM; echo up; while true; do sleep 0.05; done', ['-d']))
      await until('it to start', async () => await logsOf(polite) === 'up\n')
      expect((await node.cli(['stop', polite, '--timeout', '30'])).code).toBe(0)
      expect(await workload(node, polite)).toMatchObject({ state: 'exited', exitCode: 0, signal: null })
      expect(await logsOf(polite)).toBe('up\nbye\n')

      const stubborn = named('stubborn')
      await node.cli(sh(stubborn, 'trap "" TERM; echo up; while true; do sleep 0.05; done', ['-d']))
      await until('it to start', async () => await logsOf(stubborn) === 'up\n')
      const { pid } = await workload(node, stubborn)
      expect((await node.cli(['stop', stubborn, '--timeout', '1'])).code).toBe(0)
      expect(await workload(node, stubborn)).toMatchObject({ state: 'exited', ...fx.killed })
      expect(isAlive(pid)).toBe(false)
    })

    it('delivers signals to the running workload, and refuses one to a workload that has ended', async () => {
      const name = named('signalled')
      await node.cli(sh(name, 'trap "echo got usr1" USR1; echo up; while true; do sleep 0.05; done', ['-d']))
      await until('it to start', async () => await logsOf(name) === 'up\n')
      expect((await node.cli(['kill', '--signal', 'USR1', name])).code).toBe(0)
      await until('the trap to run', async () => (await logsOf(name)).includes('got usr1\n'))
      expect(await workload(node, name)).toMatchObject({ state: 'running' })
      expect((await node.cli(['kill', name])).code).toBe(0)
      expect(await ended(name)).toMatchObject(fx.killed)
      const late = await node.cli(['kill', '--signal', 'TERM', name])
      expect(late.code).toBe(1)
      expect(late.stderr).toBe(`aurae: workload ${name} is not running\n`)
    })

    it('runs a command inside the running workload, its exit code passed on, and refuses one once it has ended', async () => {
      const name = named('entered')
      await node.cli(sh(name, 'echo up; while true; do sleep 0.05; done', ['-d']))
      await until('it to start', async () => await logsOf(name) === 'up\n')
      const inside = await node.cli(['exec', name, '--', 'sh', '-c', 'echo in; echo err >&2; exit 4'])
      expect(inside).toEqual({ code: 4, stdout: 'in\n', stderr: 'err\n' })
      expect(await logsOf(name)).toBe('up\n')
      expect((await node.cli(['stop', name, '--timeout', '0'])).code).toBe(0)
      const late = await node.cli(['exec', name, '--', 'true'])
      expect(late.code).not.toBe(0)
      expect(late.stderr).toBe(`aurae: workload ${name} is not running\n`)
    })

    it('restarts by its policy: on-failure until it succeeds, always after success, never with no', async () => {
      const count = gate(named('count'))
      const flaky = named('flaky')
      const script = `n=$(cat ${count.inside} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${count.inside}; echo run $n; [ $n -ge 3 ]`
      const res = await node.cli(sh(flaky, script, ['--restart', 'on-failure']))
      expect(res).toMatchObject({ code: 0, stdout: 'run 1\nrun 2\nrun 3\n' })
      expect(await workload(node, flaky)).toMatchObject({ state: 'exited', exitCode: 0, restarts: 2 })

      const looper = named('looper')
      await node.cli(sh(looper, 'echo tick', ['-d', '--restart', 'always']))
      await until('two restarts', async () => (await workload(node, looper)).restarts >= 2)
      expect((await node.cli(['stop', looper])).code).toBe(0)
      expect(await workload(node, looper)).toMatchObject({ state: 'exited' })

      const once = named('once')
      expect((await node.cli(sh(once, 'exit 1'))).code).toBe(1)
      expect(await workload(node, once)).toMatchObject({ state: 'exited', exitCode: 1, restarts: 0 })
    })

    it('is re-adopted after the daemon is killed with -9: same process, logs flowing, exit code learned', async () => {
      const name = named('survivor')
      const stop = gate(named('gate'))
      await node.cli(sh(name, `i=0; while [ ! -e ${stop.inside} ]; do i=$((i+1)); echo tick $i; sleep 0.05; done; exit 7`, ['-d']))
      await until('it to tick', async () => (await logsOf(name)).includes('tick 2\n'))
      const before = await workload(node, name)
      const daemon = await node.daemonPid()
      process.kill(daemon, 'SIGKILL')
      await until('the daemon to die', () => !isAlive(daemon))
      expect(isAlive(before.pid)).toBe(true)

      expect((await node.up()).code).toBe(0)
      expect(await workload(node, name)).toMatchObject({ state: 'running', pid: before.pid, restarts: 0 })
      const seen = Number(/tick (\d+)\n$/.exec(await logsOf(name))?.[1])
      await until('new lines after the restart', async () => (await logsOf(name)).includes(`tick ${seen + 3}\n`))
      writeFileSync(stop.host, '')
      expect(await ended(name)).toMatchObject({ exitCode: 7, signal: null, restarts: 0 })
    })

    it('keeps all of its output in its logs, stdout and stderr apart and in order', async () => {
      const name = named('chatty')
      const script = 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; done'
      expect((await node.cli(sh(name, script, ['-d']))).code).toBe(0)
      await ended(name)
      const logs = await node.cli(['logs', name])
      const lines = (what: string): string => Array.from({ length: 3000 }, (_, i) => `${what} ${i + 1}\n`).join('')
      expect(logs.stdout).toBe(lines('out'))
      expect(logs.stderr).toBe(lines('err'))
    })

    it('is held to its memory limit, and an OOM kill is reported as one', async () => {
      const name = named('hog')
      // The shell's one string doubles until the limit stops it.
      const res = await node.cli(sh(name, 'x=0123456789abcdef; while true; do x="$x$x"; done', ['--memory', '32M']))
      expect(res.code).not.toBe(0)
      expect(await workload(node, name)).toMatchObject({ state: 'exited', oomKilled: true, ...fx.killed })
    })

    it('is held to its process limit', async () => {
      // Ten sleepers at once: fine without a limit, refused under one of five processes.
      const script = 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done; wait; echo all started'
      const free = await node.cli(sh(named('forks'), script))
      expect(free).toMatchObject({ code: 0, stdout: 'all started\n' })
      const held = await node.cli(sh(named('forks'), script, ['--pids', '5']))
      expect(held.code).not.toBe(0)
      expect(held.stdout).not.toContain('all started')
      expect(held.stderr).toMatch(/fork/i)
    })
  })
}
