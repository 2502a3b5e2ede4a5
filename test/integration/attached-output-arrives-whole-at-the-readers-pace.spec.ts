import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { credentials } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkloadServiceClient, type WorkloadServiceRunResponse } from '../../src/gen/aurae/workloads/v0/workloads.ts'
import { layerTar, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'
import { attachReaders, blockedOnPipe, parentOf } from '../helpers/procs.ts'

interface Streamed {
  code: number | null
  bytes: number
  lines: number
  sha256: string
  stderr: string
}

/** Runs the CLI with its stdout hashed and counted as it arrives; `paused` reads nothing until resume(). */
function streamCli (node: TestNode, args: string[], paused = false): { done: Promise<Streamed>, received: () => number, resume: () => void, pid: number } {
  const child = node.spawnCli(args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const hash = createHash('sha256')
  let bytes = 0
  let lines = 0
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => {
    hash.update(d)
    bytes += d.length
    for (let at = d.indexOf(10); at >= 0; at = d.indexOf(10, at + 1)) lines++
  })
  if (paused) child.stdout?.pause()
  child.stderr?.on('data', d => { stderr += String(d) })
  const done = new Promise<Streamed>(resolve => child.on('close', code => resolve({ code, bytes, lines, sha256: hash.digest('hex'), stderr })))
  return { done, received: () => bytes, resume: () => child.stdout?.resume(), pid: child.pid as number }
}

/** The sha256 and size of what a command writes, run here as a plain process. */
async function expected (cmd: string, args: string[]): Promise<{ sha256: string, bytes: number }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const hash = createHash('sha256')
  let bytes = 0
  child.stdout.on('data', (d: Buffer) => { hash.update(d); bytes += d.length })
  await new Promise(resolve => child.on('close', resolve))
  return { sha256: hash.digest('hex'), bytes }
}

/** Whether a SIGTERM waits to be delivered to a process. */
function termPending (pid: number): boolean {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const mask = [...status.matchAll(/^(?:SigPnd|ShdPnd):\s+([0-9a-f]+)$/gm)].reduce((m, x) => m | BigInt(`0x${x[1]}`), 0n)
  return (mask & (1n << 14n)) !== 0n
}

/** Holds the reader back until the workload is stuck writing (`stuck` looks at it then), then reads everything. */
async function slowReader (node: TestNode, name: string, args: string[], comm: string, total: number, where: TestNode = node, stuck?: (pid: number, cli: number) => void): Promise<Streamed> {
  const cli = streamCli(node, args, true)
  const { pid } = await until(`${name} to run`, async () => { const w = await workload(where, name); return w?.pid > 0 && w })
  await until(`${name} to wait on its full pipe`, () => blockedOnPipe(pid, comm))
  // The workload waits while most of its output is still to come: nothing was dropped to keep it going.
  expect(cli.received()).toBeLessThan(total / 2)
  expect((await workload(where, name)).state).toBe('running')
  stuck?.(pid, cli.pid)
  cli.resume()
  return await cli.done
}

/** Runs `exec NAME -- head -c 64M /dev/zero` slowly read: who reads the stuck workload's monitor next to the CLI's PID, and what came. */
async function readersOfMonitor (node: TestNode, name: string): Promise<{ readers: number[], cli: number, got: Streamed, want: { sha256: string, bytes: number } }> {
  const want = await expected('head', ['-c', '64M', '/dev/zero'])
  const seen = { readers: [] as number[], cli: 0 }
  const got = await slowReader(node, name, ['exec', name, '--', 'head', '-c', '64M', '/dev/zero'], 'head', want.bytes, node, (pid, cli) => {
    Object.assign(seen, { readers: attachReaders(parentOf(pid)), cli })
  })
  return { ...seen, got, want }
}

describe('attached output arrives whole, at the reader\'s pace', () => {
  let node: TestNode
  beforeAll(async () => { node = await startNode('streams') })
  afterAll(async () => { await node?.stop() })

  it('delivers every line of seq 1 2000000, in order', async () => {
    const want = await expected('seq', ['1', '2000000'])
    const got = await streamCli(node, ['exec', '--', 'seq', '1', '2000000']).done
    expect(got).toEqual({ code: 0, bytes: want.bytes, lines: 2_000_000, sha256: want.sha256, stderr: '' })
  })

  it('delivers every byte of 200 MB without a newline', async () => {
    const want = await expected('head', ['-c', '200M', '/dev/zero'])
    const got = await streamCli(node, ['exec', '--', 'head', '-c', '200M', '/dev/zero']).done
    expect(got).toEqual({ code: 0, bytes: 200 * 1024 * 1024, lines: 0, sha256: want.sha256, stderr: '' })
  })

  it('slows a workload down to a slow reader instead of dropping its output', async () => {
    const want = await expected('head', ['-c', '64M', '/dev/zero'])
    const got = await slowReader(node, 'slowed', ['exec', 'slowed', '--', 'head', '-c', '64M', '/dev/zero'], 'head', want.bytes)
    expect(got).toEqual({ code: 0, bytes: want.bytes, lines: 0, sha256: want.sha256, stderr: '' })
  })

  it('keeps stdout and stderr apart, each in order', async () => {
    const got = await node.cli(['exec', '--', 'sh', '-c', 'seq 1 20000; seq 1 30000 >&2; seq 20001 40000'])
    expect(got.code).toBe(0)
    expect(got.stdout).toBe(Array.from({ length: 40000 }, (_, i) => `${i + 1}\n`).join(''))
    expect(got.stderr).toBe(Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join(''))
  })

  it('streams every run of a workload that restarts', async () => {
    // Outside the node's directory, which its workloads cannot see.
    const counter = mkdtempSync(join(tmpdir(), 'aurae-runs-'))
    const got = await node.cli(['exec', 'again', '--restart', 'on-failure', '--', 'sh', '-c', `n=$(cat ${counter}/runs 2>/dev/null || echo 0); echo $((n+1)) > ${counter}/runs; seq 1 100000 | sed "s/^/run $n: /"; [ $n -ge 2 ]`])
    rmSync(counter, { recursive: true, force: true })
    expect(got.code).toBe(0)
    const lines = got.stdout.split('\n').slice(0, -1)
    expect(lines).toHaveLength(300_000)
    expect(lines[0]).toBe('run 0: 1')
    expect(lines[100_000]).toBe('run 1: 1')
    expect(lines[299_999]).toBe('run 2: 100000')
    expect((await workload(node, 'again')).restarts).toBe(2)
  })

  it('leaves at a second SIGTERM when the workload ignores the first, and the workload stays to be stopped', async () => {
    const child = node.spawnCli(['exec', 'stubborn', '--', 'sh', '-c', 'trap "" TERM; echo ready; sleep 100'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout?.on('data', d => { out += String(d) })
    const exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
    await until('the workload to be ready', () => out === 'ready\n')
    child.kill('SIGTERM')
    // Two signals in a row would merge into one while the first is still pending.
    await until('the first SIGTERM to be taken', () => !termPending(child.pid as number))
    child.kill('SIGTERM')
    expect(await exited).toEqual({ code: 143, signal: null })
    expect(await workload(node, 'stubborn')).toMatchObject({ state: 'running' })
    expect((await node.cli(['stop', 'stubborn', '--timeout', '1'])).code).toBe(0)
    expect(await workload(node, 'stubborn')).toMatchObject({ state: 'exited', signal: 'SIGKILL' })
  })

  it('reads a workload of its own node straight from the workload\'s monitor, which the daemon never connects to', async () => {
    const { readers, cli, got, want } = await readersOfMonitor(node, 'straight')
    expect(readers).toEqual([cli])
    expect(got).toEqual({ code: 0, bytes: want.bytes, lines: 0, sha256: want.sha256, stderr: '' })
  })

  it('runs the workload all the same, its output in the log, when a caller that asked to read it itself never connects', async () => {
    const client = new WorkloadServiceClient(`unix:${node.sock}`, credentials.createInsecure())
    const spec = { name: 'absent', executable: { command: ['sh', '-c', 'echo in the log'], env: {}, workdir: '', volumes: [] }, restart: 'no', cell: '' }
    const events: WorkloadServiceRunResponse[] = await new Promise((resolve, reject) => {
      const got: WorkloadServiceRunResponse[] = []
      const call = client.run({ spec, detach: false, remove: false, directOutput: true })
      call.on('data', (m: WorkloadServiceRunResponse) => got.push(m))
      call.on('end', () => resolve(got))
      call.on('error', reject)
    }).finally(() => client.close())
    // The workload starts as its monitor listens, so `started` and `attach` may come in either order.
    const kinds = events.map(m => Object.keys(m).filter(k => m[k as keyof WorkloadServiceRunResponse] !== undefined))
    expect(kinds.slice(0, 2).flat().sort()).toEqual(['attach', 'started'])
    expect(kinds[2]).toEqual(['exit'])
    const attach = events.find(m => m.attach !== undefined)?.attach
    expect(attach?.address.startsWith(join(node.data, 'run'))).toBe(true)
    expect(attach?.run).toBe(1)
    expect(events[2].exit).toMatchObject({ exitCode: 0, error: '' })
    expect((await node.cli(['logs', 'absent'])).stdout).toBe('in the log\n')
  })

  it('leaves at once when its reader goes away, as a process killed by SIGPIPE', async () => {
    const child = node.spawnCli(['exec', 'unread', '--', 'seq', '1', '100000000'], { stdio: ['ignore', 'pipe', 'ignore'] })
    const exited = new Promise(resolve => child.on('exit', code => resolve(code)))
    await new Promise(resolve => child.stdout?.once('data', resolve))
    child.stdout?.destroy()
    expect(await exited).toBe(141)
    expect((await node.cli(['rm', '-f', 'unread'])).code).toBe(0)
  })
})

describe('attached output of a node whose data directory is too long for a socket address', () => {
  let node: TestNode
  let long: string
  beforeAll(async () => {
    long = mkdtempSync(join(tmpdir(), 'aurae-long-'))
    const data = join(long, 'd'.repeat(60), 'a'.repeat(60), 'data')
    mkdirSync(join(data, '..'), { recursive: true })
    node = await startNode('long', ['--data', data, '--listen', '/ip4/127.0.0.1/tcp/0'])
  })
  afterAll(async () => {
    await node?.stop()
    rmSync(long, { recursive: true, force: true })
  })

  it('is read straight from the monitor all the same', async () => {
    const { readers, cli, got, want } = await readersOfMonitor(node, 'far')
    expect(readers).toEqual([cli])
    expect(got).toEqual({ code: 0, bytes: want.bytes, lines: 0, sha256: want.sha256, stderr: '' })
  })
})

describe('attached output of a container and of a peer', () => {
  let registry: TestRegistry
  let alice: TestNode
  let emily: TestNode
  beforeAll(async () => {
    registry = await startRegistry()
    const applets = ['sh', 'seq', 'head', 'cat']
    await pushImage(registry.host, 'counter', 'latest', [await layerTar([
      { name: 'bin/' },
      { name: 'bin/busybox', body: readFileSync('/bin/busybox'), mode: 0o755 },
      ...applets.map(a => ({ name: `bin/${a}`, linkname: 'busybox' }))
    ])])
    emily = await startNode('emily')
    alice = await startNode('alice')
    const token = (await emily.cli(['proxy'])).stdout.trim()
    const peered = await alice.cli(['proxy', token])
    if (peered.code !== 0) throw new Error(`peering failed: ${peered.stderr}`)
  })
  afterAll(async () => {
    await alice?.stop()
    await emily?.stop()
    registry?.stop()
  })

  it('delivers a container\'s every line, and slows it to a slow reader', async () => {
    const image = `${registry.host}/counter`
    const small = await expected('seq', ['1', '500000'])
    const whole = await streamCli(alice, ['run', image, '--rm', '--net', 'none', '--', 'seq', '1', '500000']).done
    expect(whole).toEqual({ code: 0, bytes: small.bytes, lines: 500_000, sha256: small.sha256, stderr: '' })

    const big = await expected('seq', ['1', '5000000'])
    const slow = await slowReader(alice, 'counted', ['run', image, '--name', 'counted', '--net', 'none', '--', 'seq', '1', '5000000'], 'seq', big.bytes)
    expect(slow).toEqual({ code: 0, bytes: big.bytes, lines: 5_000_000, sha256: big.sha256, stderr: '' })
  })

  it('delivers a peer\'s every line and byte over the mesh, and slows the peer\'s workload to a slow reader here', async () => {
    const lines = await expected('seq', ['1', '300000'])
    const got = await streamCli(alice, ['exec', 'lines@emily', '--', 'seq', '1', '300000']).done
    expect(got).toEqual({ code: 0, bytes: lines.bytes, lines: 300_000, sha256: lines.sha256, stderr: '' })

    const bytes = await expected('head', ['-c', '48M', '/dev/zero'])
    const slow = await slowReader(alice, 'zeros', ['exec', 'zeros@emily', '--', 'head', '-c', '48M', '/dev/zero'], 'head', bytes.bytes, emily)
    expect(slow).toEqual({ code: 0, bytes: bytes.bytes, lines: 0, sha256: bytes.sha256, stderr: '' })
  })

  it('comes from a peer through the daemons even when the caller asks to read it from the monitor itself', async () => {
    const want = await expected('head', ['-c', '48M', '/dev/zero'])
    const client = new WorkloadServiceClient(`unix:${alice.sock}`, credentials.createInsecure())
    const spec = { name: 'asked@emily', executable: { command: ['head', '-c', '48M', '/dev/zero'], env: {}, workdir: '', volumes: [] }, restart: 'no', cell: '' }
    const call = client.run({ spec, detach: false, remove: false, directOutput: true })
    const events: WorkloadServiceRunResponse[] = []
    const hash = createHash('sha256')
    let bytes = 0
    call.on('data', (m: WorkloadServiceRunResponse) => {
      if (m.output !== undefined) {
        hash.update(m.output.data)
        bytes += m.output.data.length
      } else {
        events.push(m)
      }
    })
    call.pause()
    const ended = new Promise((resolve, reject) => { call.on('end', resolve); call.on('error', reject) })
    try {
      const { pid } = await until('asked to run on emily', async () => { const w = await workload(emily, 'asked'); return w?.pid > 0 && w })
      await until('asked to wait on its full pipe', () => blockedOnPipe(pid, 'head'))
      // emily reads the monitor herself and passes the output on to alice, who passes it on to the caller.
      expect(attachReaders(parentOf(pid))).toEqual([await emily.daemonPid()])
      call.resume()
      await ended
    } finally {
      client.close()
    }
    expect(events.some(m => m.attach !== undefined)).toBe(false)
    expect(events.at(-1)?.exit).toMatchObject({ exitCode: 0, error: '' })
    expect({ bytes, sha256: hash.digest('hex') }).toEqual(want)
  })
})
