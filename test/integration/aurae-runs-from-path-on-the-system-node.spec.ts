import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, childrenOf, isAlive, run, until, type Result } from '../helpers/node.ts'

const SYSTEM_NODE = '/usr/bin/node'

describe('aurae runs from PATH on the system Node', () => {
  let dir: string
  let daemon: number | undefined
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${join(dir, 'bin')}:/usr/sbin:/usr/bin:/sbin:/bin`, NO_COLOR: '1', AURAE_SOCK: join(dir, 'aurae.sock') })
  const aurae = async (args: string[]): Promise<Result> => await run('aurae', args, { env: env() })
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-path-'))
  })
  afterAll(async () => {
    await aurae(['down'])
    if (daemon !== undefined && isAlive(daemon)) process.kill(daemon, 'SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it('is older than the project needs here: the case this covers', () => {
    const major = Number(spawnSync(SYSTEM_NODE, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim())
    expect(major).toBeLessThan(22)
  })

  it('puts aurae and auraed on PATH with npm run link-bins, each running on the project\'s Node', async () => {
    const linked = await run(SYSTEM_NODE, [join(ROOT, 'scripts', 'link-bins.js'), join(dir, 'bin')])
    expect(linked.code).toBe(0)
    expect(readlinkSync(join(dir, 'bin', 'aurae'))).toBe(join(ROOT, 'bin', 'aurae.js'))
    expect(await aurae(['--version'])).toEqual({ code: 0, stdout: 'aurae 0.1.0\n', stderr: '' })
    expect(await run('auraed', ['--version'], { env: env() })).toEqual({ code: 0, stdout: 'auraed 0.1.0\n', stderr: '' })
  })

  it('brings a node up, passes on a workload\'s exit code and a usage error\'s, and runs auraed on the project\'s Node', async () => {
    const up = await aurae(['up', 'pathnode', '--key', join(dir, 'key'), '--data', join(dir, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(up.code).toBe(0)
    daemon = JSON.parse((await aurae(['status', '--json'])).stdout).pid as number
    expect(realpathSync(`/proc/${daemon}/exe`)).toBe(realpathSync(join(ROOT, 'node_modules', 'node', 'bin', 'node')))
    expect((await aurae(['exec', '--', 'sh', '-c', 'exit 7'])).code).toBe(7)
    const bad = await aurae(['exec', '--memory', 'lots', '--', 'true'])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('passes a signal sent to it alone on to the aurae it runs', async () => {
    expect((await aurae(['exec', 'ticker', '-d', '--', 'sh', '-c', 'while :; do echo tick; sleep 0.1; done'])).code).toBe(0)
    // No terminal here: SIGINT reaches the outer process only, which runs aurae on the project's Node as a child.
    const follower = spawn('aurae', ['logs', '-f', 'ticker'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    follower.stdout?.on('data', d => { out += String(d) })
    const exited = new Promise<number | null>(resolve => follower.on('exit', code => resolve(code)))
    try {
      await until('the followed log', () => out.includes('tick\n'))
      const inner = childrenOf(follower.pid as number)
      expect(inner).toHaveLength(1)
      follower.kill('SIGINT')
      expect(await exited).toBe(0)
      await until('the inner aurae to end', () => !isAlive(inner[0]))
    } finally {
      follower.kill('SIGKILL')
      await aurae(['rm', '-f', 'ticker'])
    }
  })
})
