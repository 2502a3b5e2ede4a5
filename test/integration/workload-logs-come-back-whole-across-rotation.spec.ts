import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

const lines = (from: number, to: number): string => {
  let s = ''
  for (let i = from; i <= to; i++) s += `${i}\n`
  return s
}

/** All a stream carries, taken a piece at a time with a pause after each, as a reader busy with other work would. */
async function readSlowly (stream: Readable | null): Promise<string> {
  let text = ''
  for await (const chunk of stream ?? []) {
    text += String(chunk)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return text
}

/** Runs `seq 1 n` detached and waits for its end. */
async function seqWorkload (node: TestNode, name: string, n: number): Promise<void> {
  expect((await node.cli(['exec', name, '-d', '--', 'seq', '1', String(n)])).code).toBe(0)
  await until(`${name} to exit`, async () => (await workload(node, name))?.state === 'exited')
}

describe('workload logs come back whole, in order, across rotation', () => {
  // Default retention on one node; 8 MB files on the other, so that one rotated file holds
  // about 170,000 records.
  let plain: TestNode
  let big: TestNode
  beforeAll(async () => {
    [plain, big] = await Promise.all([
      startNode('plain'),
      startNode('bigfiles', ['--log-max-bytes', '8000000', '--listen', '/ip4/127.0.0.1/tcp/0'])
    ])
  })
  afterAll(async () => { await Promise.all([plain?.stop(), big?.stop()]) })

  it('gives back all 100,000 lines of a finished seq, also when followed', async () => {
    await seqWorkload(plain, 'counted', 100_000)
    const res = await plain.cli(['logs', 'counted'])
    expect(res.code).toBe(0)
    expect(res.stdout === lines(1, 100_000)).toBe(true)
    const followed = await plain.cli(['logs', 'counted', '-f'])
    expect(followed.stdout === lines(1, 100_000)).toBe(true)
  })

  it('hands a slow reader all of stdout and stderr before aurae logs exits', async () => {
    // Pipes are written asynchronously: whatever aurae still holds for a reader that lags must reach it before the exit.
    expect((await plain.cli(['exec', 'both', '-d', '--', 'sh', '-c', 'seq 1 50000; seq 1 50000 >&2'])).code).toBe(0)
    await until('both to exit', async () => (await workload(plain, 'both'))?.state === 'exited')
    const child = plain.spawnCli(['logs', 'both'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
    const [out, err] = await Promise.all([readSlowly(child.stdout), readSlowly(child.stderr)])
    expect(await exited).toBe(0)
    expect(out === lines(1, 50_000)).toBe(true)
    expect(err === lines(1, 50_000)).toBe(true)
  })

  it('gives back every line of a rotated file of more than 130,000 records, and tails exactly across files', async () => {
    await seqWorkload(big, 'many', 200_000)
    const records = readFileSync(join(big.data, 'logs', 'many.log.1'), 'latin1').split('\n').length - 1
    expect(records).toBeGreaterThan(130_000)
    const res = await big.cli(['logs', 'many'])
    expect(res.stdout.length).toBe(lines(1, 200_000).length)
    expect(res.stdout === lines(1, 200_000)).toBe(true)
    for (const n of [1, 7, 50_000, 199_999, 200_000, 300_000]) {
      const tail = await big.cli(['logs', 'many', '--tail', String(n)])
      expect(tail.stdout === lines(Math.max(1, 200_001 - n), 200_000)).toBe(true)
    }
    expect((await big.cli(['logs', 'many', '--tail', '0'])).stdout).toBe('')
    expect((await big.cli(['logs', 'many', '-f', '--tail', '3'])).stdout).toBe(lines(199_998, 200_000))
  })

  it('follows a fast writer across hundreds of rotations and misses no line', async () => {
    // 64 KiB files, and retention for every one of them: whatever the follower misses, it skipped.
    const small = await startNode('smallfiles', ['--log-max-bytes', '65536', '--log-files', '2000', '--listen', '/ip4/127.0.0.1/tcp/0'])
    try {
      await followAcrossRotations(small)
    } finally {
      await small.stop()
    }
  })
})

/** Follows a workload that prints 300,000 lines as fast as seq can, from before its first line. */
async function followAcrossRotations (small: TestNode): Promise<void> {
  // Outside daemon space, which workloads cannot see.
  const gates = mkdtempSync(join(tmpdir(), 'aurae-gates-'))
  const gate = join(gates, 'go')
  const start = await small.cli(['exec', 'fast', '-d', '--', 'sh', '-c', `echo ready; while [ ! -e ${gate} ]; do sleep 0.02; done; seq 1 300000`])
  expect(start.code).toBe(0)
  const follower = small.spawnCli(['logs', 'fast', '-f'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const chunks: Buffer[] = []
  follower.stdout?.on('data', (d: Buffer) => chunks.push(d))
  follower.stderr?.resume()
  const exited = new Promise(resolve => follower.on('exit', resolve))
  try {
    await until('the follower to be following', () => Buffer.concat(chunks).toString() === 'ready\n')
    writeFileSync(gate, '')
    expect(await exited).toBe(0)
  } finally {
    follower.kill('SIGKILL')
    rmSync(gates, { recursive: true, force: true })
  }
  const out = Buffer.concat(chunks).toString()
  expect(out.length).toBe(('ready\n' + lines(1, 300_000)).length)
  expect(out === 'ready\n' + lines(1, 300_000)).toBe(true)
  expect(readdirSync(join(small.data, 'logs')).filter(f => /^fast\.log\.\d+$/.test(f)).length).toBeGreaterThan(100)
  expect((await small.cli(['logs', 'fast', '--tail', '1'])).stdout).toBe('300000\n')
}
