import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Launcher, execLimitError } from '../../src/runtime/launcher.ts'
import { ROOT, until } from '../helpers/node.ts'

const MONITOR = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-monitor')

describe('what execve takes', () => {
  const MiB = 1024 * 1024
  it('lets through what fits in a quarter of the stack limit', () => {
    expect(execLimitError(Array.from({ length: 5000 }, (_, i) => String(i)), { PATH: '/bin' }, 8 * MiB)).toBeUndefined()
    expect(execLimitError(['sh', 'x'.repeat(1024 * 1024)].concat(Array(10).fill('y'.repeat(100_000))), {}, 64 * MiB)).toMatch(/argument 2 is 1M; the kernel takes at most 128K for one/)
  })

  it('refuses more than that, counting each string, its NUL and its pointer, in one line', () => {
    const args = Array.from({ length: 300_000 }, () => 'abcdef')
    const why = execLimitError(args, {}, 8 * MiB) ?? ''
    expect(why).toMatch(/^the command cannot be run: its 300000 arguments and environment take 4\.\dM; the kernel takes at most 2M \(a quarter of the stack limit\)$/)
    expect(execLimitError(args, {}, 64 * MiB)).toBeUndefined()
    expect(execLimitError(args.concat(args), {}, Infinity)).toMatch(/at most 6M/)
  })

  it('names an environment entry that is too long', () => {
    expect(execLimitError(['true'], { BIG: 'z'.repeat(200_000) }, 8 * MiB)).toMatch(/environment entry BIG is 195\.3K/)
  })
})

describe('the monitor launcher', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'launcher-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  /** Frames one request as the daemon does: u32 length, then NUL-terminated strings. */
  const frame = (strings: string[]): Buffer => {
    const payload = Buffer.from(strings.join('\0') + '\0')
    const head = Buffer.alloc(4)
    head.writeUInt32LE(payload.length)
    return Buffer.concat([head, payload])
  }

  it('answers every request, malformed ones with an error line carrying their id', async () => {
    const launcher = spawn(MONITOR, ['--launcher'], { stdio: ['pipe', 'pipe', 'ignore'] })
    const answers: string[] = []
    createInterface({ input: launcher.stdout }).on('line', l => answers.push(l))
    try {
      launcher.stdin.write(frame(['7', '2', 'only-one-arg']))
      launcher.stdin.write(frame(['8', 'x', '0']))
      launcher.stdin.write(frame(['9', '1', '--bogus', '0']))
      await until('three answers', () => answers.length === 3)
      expect(answers.slice(0, 2)).toEqual(['7 {"error":"malformed launch request"}', '8 {"error":"malformed launch request"}'])
      expect(answers[2]).toBe('9 {"error":"--bogus needs a value"}')
    } finally {
      launcher.kill('SIGKILL')
    }
  })

  it('starts a command of 5,000 arguments and more', async () => {
    const launcher = new Launcher(MONITOR)
    try {
      const args = Array.from({ length: 6000 }, (_, i) => `a${i}`)
      const out = join(dir, 'count')
      const status = await launcher.launch(['--exit-file', join(dir, 'exit'), '--log', join(dir, 'log'), '--', 'sh', '-c', `echo $# > ${out}`, 'sh', ...args], { PATH: '/usr/bin:/bin' })
      expect(status.error).toBeUndefined()
      expect(status.pid).toBeGreaterThan(0)
      await until('the command to end', () => existsSync(join(dir, 'exit')))
      expect(readFileSync(join(dir, 'exit'), 'utf8')).toMatch(/^\{"exitCode":0,/)
      expect(readFileSync(out, 'utf8')).toBe('6000\n')
    } finally {
      launcher.stop()
    }
  })

  it('fails a launch that gets no answer in time instead of waiting for ever', async () => {
    const silent = join(dir, 'silent')
    writeFileSync(silent, '#!/bin/sh\nexec cat > /dev/null\n')
    chmodSync(silent, 0o755)
    const launcher = new Launcher(silent, 300)
    try {
      expect(await launcher.launch(['--', 'true'], {})).toEqual({ error: 'the monitor launcher did not answer within 0.3 s' })
    } finally {
      launcher.stop()
    }
  })
})
