// Real nodes for integration tests: auraed started by the real `aurae up`, driven by the real CLI.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { removeNodeCgroups } from '../../src/runtime/cgroups.ts'

export const ROOT = resolve(import.meta.dirname, '..', '..')
export const AURAE = join(ROOT, 'bin', 'aurae.js')
export const AURAED = join(ROOT, 'bin', 'auraed.js')

export interface Result {
  code: number
  stdout: string
  stderr: string
}

export interface TestNode {
  dir: string
  sock: string
  key: string
  data: string
  /** Runs `aurae --sock <ours> ...args` to completion. */
  cli: (args: string[], opts?: { input?: string, env?: NodeJS.ProcessEnv }) => Promise<Result>
  /** Starts `aurae ...args` and returns the child, for tests that signal or stream. */
  spawnCli: (args: string[], opts?: SpawnOptions) => ReturnType<typeof spawn>
  /** `aurae up` again (after the daemon was stopped or killed). */
  up: () => Promise<Result>
  daemonPid: () => Promise<number>
  stop: () => Promise<void>
}

/** Runs a command to completion, collecting its output. */
export async function run (cmd: string, args: string[], opts: SpawnOptions & { input?: string } = {}): Promise<Result> {
  return await new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', d => { stdout += String(d) })
    child.stderr?.on('data', d => { stderr += String(d) })
    child.on('error', reject)
    child.on('close', code => resolve({ code: code ?? -1, stdout, stderr }))
    // A command that exits before reading its input closes the pipe; that is not the test's failure.
    child.stdin?.on('error', () => {})
    child.stdin?.end(opts.input ?? '')
  })
}

/** How long a test waits for a detached VM's guest to come up: TCG boots in seconds alone, but far slower on a
 *  two-core machine that is also booting the other suites' VMs. */
export const VM_BOOT_MS = 90_000

/** Waits until `check` returns a truthy value, polling; throws with `what` after `ms`. */
export async function until<T> (what: string, check: () => T | Promise<T>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Makes a node's files in a fresh temp dir and brings it up as `name`; with null, only starts auraed.
 * With `netns`, the daemon runs in that network namespace (its socket stays on the shared filesystem).
 * It enters only the network namespace: `ip netns exec` would also mount a /sys of its own, without
 * the cgroup hierarchies a host's daemon sees. With `sockPath`, the socket sits there instead of in the
 * node's own directory (and is removed by stop); with `dataPath`, the node's data dir is there (and is removed by stop). */
export async function startNode (name: string | null = 'alice@example.org', extra: string[] = ['--listen', '/ip4/127.0.0.1/tcp/0'], netns?: string, sockPath?: string, dataPath?: string): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-test-'))
  const sock = sockPath ?? join(dir, 'aurae.sock')
  const key = join(dir, 'id_aura')
  const data = dataPath ?? join(dir, 'data')
  const env = { ...process.env, AURAE_SOCK: undefined, NO_COLOR: '1' }
  const cli = async (args: string[], opts: { input?: string, env?: NodeJS.ProcessEnv } = {}): Promise<Result> =>
    await run(process.execPath, [AURAE, '--sock', sock, ...args], { env: { ...env, ...opts.env }, input: opts.input })
  // VMs boot cold unless a test asks for warm starts with a templates directory of its own: the machine's templates,
  // made by one test, would change what another sees.
  // No mTLS socket unless a test asks for one at a path of its own: the machine's (/var/run/aurae/aurae.sock, with the
  // certificates in /etc/aurae/pki) is no test's to take.
  const isolated = [...extra.includes('--vm-templates') ? [] : ['--vm-templates', 'off'], ...extra.includes('--tls-sock') ? [] : ['--tls-sock', 'off']]
  const upArgs = ['up', ...(name === null ? [] : [name]), '--key', key, '--data', data, ...isolated, ...extra]
  const node: TestNode = {
    dir,
    sock,
    key,
    data,
    cli,
    spawnCli: (args, opts = {}) => spawn(process.execPath, [AURAE, '--sock', sock, ...args], { env, ...opts }),
    up: async () => netns === undefined
      ? await cli(upArgs)
      : await run('nsenter', [`--net=/run/netns/${netns}`, process.execPath, AURAE, '--sock', sock, ...upArgs], { env }),
    daemonPid: async () => JSON.parse((await cli(['status', '--json'])).stdout).pid as number,
    stop: async () => {
      let pid: number | undefined
      try { pid = await node.daemonPid() } catch {}
      await cli(['down'])
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL')
      for (const monitor of leftoverMonitors(data)) {
        for (const child of childrenOf(monitor)) if (isAlive(child)) process.kill(child, 'SIGKILL')
        if (isAlive(monitor)) process.kill(monitor, 'SIGKILL')
      }
      // A daemon killed (by the test, or here) leaves its node's cgroup folders: they go with the node.
      removeNodeCgroups(createHash('sha256').update(data).digest('hex').slice(0, 12))
      rmSync(dir, { recursive: true, force: true })
      rmSync(data, { recursive: true, force: true })
      rmSync(sock, { force: true })
      rmSync(`${sock}.frames`, { force: true })
    }
  }
  if (name === null) {
    const child = spawn(process.execPath, [AURAED, '--sock', sock, '--key', key, '--data', data, ...isolated, ...extra], { stdio: 'ignore', detached: true })
    child.unref()
    try {
      await until('auraed to listen', () => existsSync(sock))
    } catch (err) {
      // A daemon that never answered is not left running.
      if (child.pid !== undefined && isAlive(child.pid)) process.kill(child.pid, 'SIGKILL')
      await node.stop()
      throw err
    }
    return node
  }
  const res = await node.up()
  if (res.code !== 0) {
    await node.stop()
    throw new Error(`aurae up failed (${res.code}): ${res.stderr}`)
  }
  return node
}

export function childrenOf (pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/**
 * PIDs of this node's monitors still running (normally none after `aurae down`): those whose command line names the
 * node's data directory, and those the launcher forked (whose command line is the launcher's) that hold a file in it.
 */
export function leftoverMonitors (data: string): number[] {
  const out: number[] = []
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
  const holdsFileIn = (pid: number): boolean => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some(fd => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${data}/`) } catch { return false } })
    } catch {
      return false
    }
  }
  for (const line of ps.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line)
    if (m === null || !m[2].includes('aurae-monitor')) continue
    if (m[2].includes(data) || (m[2].includes('--launcher') && holdsFileIn(Number(m[1])))) out.push(Number(m[1]))
  }
  return out
}

/** The parsed `ps --all --json` list. */
export async function workloads (node: TestNode): Promise<any[]> {
  const res = await node.cli(['ps', '--all', '--json'])
  if (res.code !== 0) throw new Error(`ps failed: ${res.stderr}`)
  return JSON.parse(res.stdout)
}

export async function workload (node: TestNode, name: string): Promise<any> {
  return (await workloads(node)).find(w => w.name === name)
}

export function readText (path: string): string {
  return readFileSync(path, 'utf8')
}
