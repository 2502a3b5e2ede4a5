import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAlive, startNode, until, workloads, type TestNode } from '../helpers/node.ts'

/** Writes into `path` until the filesystem refuses even one more byte. */
function fill (path: string): void {
  const fd = openSync(path, 'w')
  try {
    for (const size of [1024 * 1024, 4096, 1]) {
      const block = Buffer.alloc(size)
      try {
        for (;;) writeSync(fd, block)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      }
    }
  } finally {
    closeSync(fd)
  }
}

describe('a full disk is named, and no workload record is lost', () => {
  let mnt: string
  let node: TestNode | undefined
  let daemon: number | undefined
  beforeAll(async () => {
    mnt = mkdtempSync(join(tmpdir(), 'aurae-full-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt])
    mkdirSync(join(mnt, 'data'))
    node = await startNode('full', ['--data', join(mnt, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0'])
    daemon = await node.daemonPid()
  })
  afterAll(async () => {
    try {
      // A daemon that stopped answering must not keep the mount: it is killed after a while.
      await Promise.race([node?.stop(), new Promise(resolve => setTimeout(resolve, 30_000))])
    } finally {
      if (daemon !== undefined && isAlive(daemon)) process.kill(daemon, 'SIGKILL')
      execFileSync('umount', ['-l', mnt])
      rmSync(mnt, { recursive: true, force: true })
    }
  })

  it('says "no space left on <path>" for exec on a full disk, and every record it kept survives a restart', async () => {
    const n = node as TestNode
    expect((await n.cli(['exec', 'before', '-d', '--', 'sleep', '600'])).code).toBe(0)
    const answers = []
    for (let i = 0; i < 6; i++) {
      // Topped up before each try: LevelDB may free a little as it reopens.
      fill(join(mnt, `filler${i}a`))
      answers.push(await n.cli(['exec', `detached${i}`, '-d', '--', 'sleep', '600']))
      fill(join(mnt, `filler${i}b`))
      answers.push(await n.cli(['exec', `attached${i}`, '--', 'echo', 'hi']))
    }
    const refused = answers.filter(res => res.code !== 0)
    expect(refused.length).toBeGreaterThan(answers.length / 2)
    for (const res of refused) {
      expect(res.code).toBe(125)
      expect(res.stdout).toBe('')
      expect(res.stderr.trim().split('\n')).toHaveLength(1)
      expect(res.stderr).toMatch(new RegExp(`^aurae: no space left on ${mnt}/data/(store|run)\n$`))
    }
    const kept = await workloads(n)
    for (const w of kept.filter(w => w.error !== '' && w.error !== null)) {
      expect(w).toMatchObject({ state: 'exited', exitCode: 125 })
      expect(w.error).toMatch(/^no space left on /)
    }

    // Room again: what is started now is recorded, and kept across a crash of the daemon.
    for (const f of readdirSync(mnt)) if (f.startsWith('filler')) rmSync(join(mnt, f))
    expect(await n.cli(['exec', '--', 'echo', 'room again'])).toMatchObject({ code: 0, stdout: 'room again\n' })
    expect((await n.cli(['exec', 'after', '-d', '--', 'sleep', '600'])).code).toBe(0)
    const pid = daemon as number
    process.kill(pid, 'SIGKILL')
    await until('the daemon to die', () => !isAlive(pid))
    expect((await n.up()).code).toBe(0)
    daemon = await n.daemonPid()

    const restarted = await workloads(n)
    const names = restarted.map(w => w.name)
    for (const w of kept) expect(names).toContain(w.name)
    expect(restarted.find(w => w.name === 'before')).toMatchObject({ state: 'running' })
    expect(restarted.find(w => w.name === 'after')).toMatchObject({ state: 'running' })
    for (const w of restarted) expect(w.error ?? '').not.toMatch(/monitor died/)
  })
})
