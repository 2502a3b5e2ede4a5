// auraed as a system's PID 1, under aurae-init: here in a PID namespace of its own (unshare), the quick stand-in
// for a guest's boot. The namespace's /sys, /dev and /run are taken away first, so that aurae-init has to mount them.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { removeNodeCgroups } from '../../src/runtime/cgroups.ts'
import { AURAE, AURAED, childrenOf, isAlive, ROOT, run, until, type Result } from '../helpers/node.ts'

const INIT = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-init')

describe('auraed as PID 1 under aurae-init', () => {
  it('mounts what a system needs, reaps orphans, and on SIGTERM stops its workloads and powers off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-pid1-'))
    const marks = mkdtempSync(join(tmpdir(), 'aurae-pid1-marks-'))
    const sock = join(dir, 'aurae.sock')
    const key = join(dir, 'id_aura')
    const data = join(dir, 'data')
    const daemon = [process.execPath, AURAED, '--pid1', '--sock', sock, '--key', key, '--data', data, '--listen', '/ip4/127.0.0.1/tcp/0']
    const boot = `umount -l /sys; umount -l /dev; umount -l /run 2>/dev/null; exec ${INIT} -- ${daemon.join(' ')}`
    const unshare = spawn('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', boot], { stdio: ['ignore', 'ignore', 'pipe'] })
    let said = ''
    unshare.stderr.on('data', d => { said += String(d) })
    const ended = new Promise<NodeJS.Signals | number | null>(resolve => unshare.on('exit', (code, signal) => resolve(signal ?? code)))
    const cli = async (args: string[]): Promise<Result> => await run(process.execPath, [AURAE, '--sock', sock, ...args], { env: { ...process.env, AURAE_SOCK: undefined, NO_COLOR: '1' } })
    let init: number | undefined
    try {
      init = await until('aurae-init to run', () => childrenOf(unshare.pid ?? 0).find(p => readFileSync(`/proc/${p}/comm`, 'utf8') === 'aurae-init\n'))
      expect(readFileSync(`/proc/${init}/status`, 'utf8')).toMatch(/^NSpid:\t\d+\t1$/m)
      await until('auraed to listen', () => existsSync(sock))
      // Each of them mounted by aurae-init: the namespace had none of them.
      const mounts = readFileSync(`/proc/${init}/mountinfo`, 'utf8')
      for (const [at, type] of [['/sys', 'sysfs'], ['/dev', 'devtmpfs'], ['/dev/pts', 'devpts'], ['/dev/shm', 'tmpfs'], ['/run', 'tmpfs'], ['/sys/fs/cgroup', 'cgroup2']]) {
        expect(mounts).toMatch(new RegExp(`^\\S+ \\S+ \\S+ \\S+ ${at} .* - ${type} `, 'm'))
      }
      const up = await cli(['up', 'guest', '--key', key, '--data', data])
      expect(up.code).toBe(0)

      // An orphan in the namespace is handed to its PID 1; once it ends, nothing of it is left (no zombie).
      await run('nsenter', ['-t', String(init), '-p', '-m', '--', 'sh', '-c', 'sleep 1 >/dev/null 2>&1 & exit 0'])
      const orphan = await until('the orphan to be handed to aurae-init', () => childrenOf(init ?? 0).find(p => readFileSync(`/proc/${p}/comm`, 'utf8') === 'sleep\n'))
      await until('the orphan to be reaped', () => !existsSync(`/proc/${orphan}`))

      // SIGTERM to PID 1: the workload gets its stop signal, auraed exits, and the "machine" powers off (in a PID
      // namespace, the kernel ends its init with SIGINT).
      const stopped = join(marks, 'stopped')
      const started = await cli(['exec', 'w', '-d', '--', 'sh', '-c', `trap 'echo stopped > ${stopped}; exit 0' TERM; echo ready > ${marks}/ready; while :; do sleep 0.1; done`])
      expect(started.code).toBe(0)
      await until('the workload to run', () => existsSync(join(marks, 'ready')))
      process.kill(init, 'SIGTERM')
      expect(await ended).toBe('SIGINT')
      expect(readFileSync(stopped, 'utf8')).toBe('stopped\n')
      expect(existsSync(sock)).toBe(false)
      expect(said).toContain('"auraed stopped"')
    } finally {
      // The namespace ends with its init; unshare, which waits for it, then exits by itself (killing unshare first
      // would leave init a zombie of the host's).
      if (init !== undefined && isAlive(init)) process.kill(init, 'SIGKILL')
      const timer = setTimeout(() => unshare.kill('SIGKILL'), 10_000)
      await ended
      clearTimeout(timer)
      removeNodeCgroups(createHash('sha256').update(data).digest('hex').slice(0, 12))
      rmSync(dir, { recursive: true, force: true })
      rmSync(marks, { recursive: true, force: true })
    }
  })

  it('is refused outside aurae-init', async () => {
    const res = await run(process.execPath, [AURAED, '--pid1', '--sock', join(tmpdir(), 'never.sock')])
    expect(res).toEqual({ code: 2, stdout: '', stderr: 'auraed: --pid1 runs under aurae-init, as its child: boot aurae-init -- node auraed.js --pid1 …\n' })
  })
})
