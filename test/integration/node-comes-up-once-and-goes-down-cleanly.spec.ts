import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { AURAE, AURAED, isAlive, run, startNode, until, type TestNode } from '../helpers/node.ts'

describe('a node comes up once and goes down cleanly', () => {
  let node: TestNode | undefined
  afterEach(async () => { await node?.stop(); node = undefined })

  it('serves only status until it is given a name, then creates an owner-only key libp2p can load', async () => {
    node = await startNode(null)
    const before = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(before.state).toBe('uninitialized')
    expect(before.peerId).toBe('')
    expect(existsSync(node.key)).toBe(false)

    const ps = await node.cli(['ps'])
    expect(ps.code).toBe(1)
    expect(ps.stderr).toMatch(/not initialized; run: aurae up NAME/)

    // Named without --key: the key is the running daemon's, and that is the one reported.
    const up = await node.cli(['up', 'alice@example.org'])
    expect(up.code).toBe(0)
    expect(up.stderr).toContain('alice@example.org is up')
    expect(up.stderr).toContain(`created key ${node.key}\n`)
    const after = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(after).toMatchObject({ state: 'running', name: 'alice', domain: 'example.org' })
    expect(up.stdout).toContain(after.peerId)

    expect(statSync(node.key).mode & 0o777).toBe(0o600)
    expect(statSync(node.sock).mode & 0o777).toBe(0o600)
    const libp2pKey = privateKeyFromProtobuf(readFileSync(node.key))
    expect(peerIdFromPrivateKey(libp2pKey).toString()).toBe(after.peerId)
  })

  it('treats the same name as a no-op and refuses another unless --rename', async () => {
    node = await startNode('alice@example.org')
    const { peerId } = JSON.parse((await node.cli(['status', '--json'])).stdout)

    const again = await node.up()
    expect(again.code).toBe(0)
    expect(again.stderr).toContain('already up; nothing to do')

    const other = await node.cli(['up', 'bob@example.org', '--key', node.key, '--data', node.data])
    expect(other.code).toBe(1)
    expect(other.stderr.trim()).toBe('aurae: this node is already up as alice@example.org; use --rename to change its name')

    const renamed = await node.cli(['up', 'bob', '--rename', '--key', node.key, '--data', node.data])
    expect(renamed.code).toBe(0)
    const s = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(s).toMatchObject({ name: 'bob', domain: '', peerId })
  })

  it('keeps its name and key across a restart and reports a stopped daemon with exit 3', async () => {
    node = await startNode('alice@example.org')
    const first = JSON.parse((await node.cli(['status', '--json'])).stdout)
    const down = await node.cli(['down'])
    expect(down.code).toBe(0)
    await until('the daemon to exit', () => !isAlive(first.pid))
    expect(existsSync(node.sock)).toBe(false)

    const status = await node.cli(['status'])
    expect(status.code).toBe(3)
    expect(status.stderr.trim()).toBe(`aurae: auraed is not running on ${node.sock}; start it with: aurae up NAME[@DOMAIN]`)
    const json = await node.cli(['status', '--json'])
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout).state).toBe('stopped')

    const up = await node.cli(['up', '--key', node.key, '--data', node.data, '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(up.code).toBe(0)
    const second = JSON.parse((await node.cli(['status', '--json'])).stdout)
    expect(second).toMatchObject({ state: 'running', name: 'alice', domain: 'example.org', peerId: first.peerId })
    expect(second.pid).not.toBe(first.pid)
  })

  it('refuses new work once down has begun, says it is stopping, and leaves nothing it refused running', async () => {
    node = await startNode('alice@example.org')
    const pid = JSON.parse((await node.cli(['status', '--json'])).stdout).pid
    // A workload that takes a few seconds to stop holds the shutdown open.
    const slow = await node.cli(['exec', 'slow', '-d', '--', 'sh', '-c', 'trap "sleep 3; exit 0" TERM; while :; do sleep 1; done'])
    expect(slow.code).toBe(0)
    const down = node.spawnCli(['down'])
    const downExit = new Promise<number | null>(resolve => down.once('exit', code => resolve(code)))
    try {
      await until('the daemon to say it is stopping', async () => JSON.parse((await node!.cli(['status', '--json'])).stdout).state === 'stopping' || undefined)
      // 125: the workload could not be run at all.
      const late = await node.cli(['exec', 'late', '-d', '--', 'sleep', '3123'])
      expect(late.code).toBe(125)
      // exec -d asks first whether a workload of that name runs, to enter it.
      expect(late.stderr.trim()).toBe('aurae: auraed is shutting down; workloads.Exec is refused')
      const ps = await node.cli(['ps'])
      expect(ps.code).toBe(1)
      expect(ps.stderr).toContain('auraed is shutting down')
      const up = await node.cli(['up', 'alice@example.org'])
      expect(up.code).toBe(1)
      expect(up.stderr.trim()).toBe('aurae: auraed is shutting down; run aurae up again once it has stopped')
    } finally {
      expect(await downExit).toBe(0)
    }
    await until('the daemon to exit', () => !isAlive(pid))
    expect((await run('pgrep', ['-f', 'sleep 3123'])).code).toBe(1)
  })

  it('refuses a second daemon on the same socket', async () => {
    node = await startNode('alice')
    const res = await run(process.execPath, [AURAED, '--sock', node.sock, '--key', node.key, '--data', node.data + '-2'])
    expect(res.code).toBe(1)
    expect(res.stderr.trim()).toBe(`auraed: auraed is already running on ${node.sock}`)
  })
})

describe('a node run in the foreground', () => {
  it('runs attached with --foreground, answers, and stops on Ctrl-C', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-fg-'))
    const sock = join(dir, 's')
    const child = spawn(process.execPath, [AURAE, '--sock', sock, 'up', 'fg', '--foreground', '--key', join(dir, 'k'), '--data', join(dir, 'd'), '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      let out = ''
      let err = ''
      child.stdout.on('data', d => { out += String(d) })
      child.stderr.on('data', d => { err += String(d) })
      const exited = new Promise(resolve => child.on('exit', resolve))
      await until('the node to be up', () => out.includes('peer id'))
      const status = JSON.parse((await run(process.execPath, [AURAE, '--sock', sock, 'status', '--json'])).stdout)
      expect(status).toMatchObject({ state: 'running', name: 'fg' })
      // The daemon's structured log is on the terminal, and readable through the API.
      const logs = await run(process.execPath, [AURAE, '--sock', sock, 'logs', '--daemon'])
      const lines = logs.stdout.trim().split('\n').map(l => JSON.parse(l))
      expect(lines.map(l => l.msg)).toEqual(expect.arrayContaining(['auraed started', 'node is up']))
      expect(err).toContain('"msg":"node is up"')
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      expect(isAlive(status.pid)).toBe(false)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
