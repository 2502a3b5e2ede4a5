import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ROOT, isAlive } from '../../helpers/node.ts'

const MONITOR = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-monitor')

// Shell stand-ins for an OCI runtime: `create` leaves a process waiting for `start` (as runc's init waits on its
// fifo), writes its PID and exits; `start` lets it go.
describe('aurae-monitor with --pid-file and --start', () => {
  let dir: string
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'aurae-adopt-')) })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const monitor = async (create: string, start: string): Promise<{ status: any, exit: any, log: string }> => {
    const args = ['--exit-file', join(dir, 'exit'), '--log', join(dir, 'log'), '--status-fd', '1', '--pid-file', join(dir, 'pid'),
      '--start', 'sh', '--start', '-c', '--start', start, '--workdir', dir, '--', 'sh', '-c', create]
    const child = spawn(MONITOR, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', d => { out += String(d) })
    await new Promise(resolve => child.once('close', resolve))
    const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean).map(l => l.split(' ').slice(3).join(' ')).join('\n') : ''
    return { status: JSON.parse(out.split('\n')[0]), exit: JSON.parse(readFileSync(join(dir, 'exit'), 'utf8')), log }
  }
  const waiting = 'echo a runtime warning >&2; (while [ ! -e go ]; do sleep 0.02; done; echo adopted; exit 7) & echo $! > pid'

  it('supervises the process `create` left once `start` has let it go, and logs only that process\'s output', async () => {
    const { status, exit, log } = await monitor(waiting, 'touch go')
    expect(status.pid).toBe(Number(readFileSync(join(dir, 'pid'), 'utf8')))
    expect(exit).toMatchObject({ exitCode: 7, signal: null })
    expect(exit.failedAt).toBeUndefined()
    expect(log).toBe('adopted')
  })

  it('records a create that failed as the runtime\'s, and keeps what it said out of the workload\'s log', async () => {
    const { status, exit, log } = await monitor('echo create failed: no such thing >&2; exit 3', 'true')
    expect(status.error).toBe('the runtime could not start the container')
    expect(exit).toMatchObject({ exitCode: 3, failedAt: 'create' })
    expect(log).toBe('')
  })

  it('kills what create left when start fails', async () => {
    const { exit } = await monitor(waiting, 'exit 4')
    expect(exit).toMatchObject({ exitCode: 4, failedAt: 'start' })
    expect(isAlive(Number(readFileSync(join(dir, 'pid'), 'utf8')))).toBe(false)
  })
})
