import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AURAE, isAlive, run, until, type Result } from '../helpers/node.ts'

// `aurae up --foreground | head -1`: once the reader has gone, every line the daemon logs meets a broken pipe.
describe('a foreground daemon whose reader is gone still stops', () => {
  const started: number[] = []
  const dirs: string[] = []
  afterEach(() => {
    for (const pid of started.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  })

  /** Starts `aurae up --foreground` with its output on pipes, waits until it is up, then closes their read ends. */
  const orphaned = async (): Promise<{ cli: (args: string[]) => Promise<Result>, up: ChildProcess, daemon: number }> => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-fg-'))
    dirs.push(dir)
    const sock = join(dir, 'aurae.sock')
    const env = { ...process.env, AURAE_SOCK: undefined, NO_COLOR: '1' }
    const cli = async (args: string[]): Promise<Result> => await run(process.execPath, [AURAE, '--sock', sock, ...args], { env })
    const up = spawn(process.execPath, [AURAE, '--sock', sock, 'up', 'fg', '--key', join(dir, 'id_aura'), '--data', join(dir, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0', '--foreground'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    if (up.pid !== undefined) started.push(up.pid)
    let said = ''
    up.stdout?.on('data', d => { said += String(d) })
    await until('the foreground node to be up', () => said.includes('socket '))
    const daemon = JSON.parse((await cli(['status', '--json'])).stdout).pid as number
    started.push(daemon)
    up.stdout?.destroy()
    up.stderr?.destroy()
    // Work the daemon logs about, each line now written into a pipe nobody reads.
    for (let i = 0; i < 5; i++) expect((await cli(['exec', '--', 'true'])).code).toBe(0)
    expect((await cli(['exec', '--', 'sh', '-c', 'exit 3'])).code).toBe(3)
    return { cli, up, daemon }
  }

  it('goes down on aurae down, and its foreground aurae with it', async () => {
    const { cli, up, daemon } = await orphaned()
    expect((await cli(['status', '--json'])).code).toBe(0)
    expect((await cli(['down'])).code).toBe(0)
    await until('the daemon to exit', () => !isAlive(daemon))
    await until('aurae up --foreground to exit', () => up.exitCode !== null || up.signalCode !== null)
  })

  it('goes down on SIGTERM', async () => {
    const { cli, up, daemon } = await orphaned()
    process.kill(daemon, 'SIGTERM')
    await until('the daemon to exit', () => !isAlive(daemon))
    await until('aurae up --foreground to exit', () => up.exitCode !== null || up.signalCode !== null)
    expect((await cli(['status'])).code).toBe(3)
  })
})
