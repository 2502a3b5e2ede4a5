import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ROOT } from '../../helpers/node.ts'

const MONITOR = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-monitor')

// A shell stand-in for an OCI runtime's `run --detach`: it starts a process, writes its PID and exits.
describe('aurae-monitor with --pid-file', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'aurae-adopt-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const monitor = async (runtime: string): Promise<{ status: any, exit: any, log: string }> => {
    const args = ['--exit-file', join(dir, 'exit'), '--log', join(dir, 'log'), '--status-fd', '1', '--pid-file', join(dir, 'pid'),
      '--workdir', dir, '--', 'sh', '-c', runtime]
    const child = spawn(MONITOR, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', d => { out += String(d) })
    await new Promise(resolve => child.once('close', resolve))
    const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean).map(l => l.split(' ').slice(3).join(' ')).join('\n') : ''
    return { status: JSON.parse(out.split('\n')[0]), exit: JSON.parse(readFileSync(join(dir, 'exit'), 'utf8')), log }
  }

  it('supervises the process the runtime left running once the runtime has exited, and logs its output', async () => {
    // It waits for the runtime to be gone (reaped by the monitor): a shell still running would reap it if it ended first.
    const { status, exit, log } = await monitor('(while kill -0 $$ 2>/dev/null; do sleep 0.02; done; echo adopted; exit 7) & echo $! > pid')
    expect(status.pid).toBe(Number(readFileSync(join(dir, 'pid'), 'utf8')))
    expect(exit).toMatchObject({ exitCode: 7, signal: null })
    expect(exit.failedAt).toBeUndefined()
    expect(log).toBe('adopted')
  })

  // As runc does, the stand-in never reaps it: the process ends once the shell that started it is another program.
  it('supervises a process that ended before the runtime did', async () => {
    const { exit, log } = await monitor('(while [ "$(cat /proc/$$/comm)" != sleep ]; do sleep 0.01; done; echo quick; exit 5) & echo $! > pid; exec sleep 0.3')
    expect(exit).toMatchObject({ exitCode: 5, signal: null })
    expect(log).toBe('quick')
  })

  it('records a start as failed when the PID the runtime wrote is not a process it left', async () => {
    const { status, exit } = await monitor('(exit 5) & echo $! > pid; wait')
    expect(status.error).toBe('the runtime could not start the container')
    expect(exit).toMatchObject({ failedAt: 'run' })
  })

  it('records a runtime that failed as the runtime\'s, and keeps what it said out of the workload\'s log', async () => {
    const { status, exit, log } = await monitor('echo run failed: no such thing >&2; exit 3')
    expect(status.error).toBe('the runtime could not start the container')
    expect(exit).toMatchObject({ exitCode: 3, failedAt: 'run' })
    expect(log).toBe('')
  })
})
