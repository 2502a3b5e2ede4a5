import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { exitFilePath, monitorArgs, readExitFile } from '../../src/runtime/monitor-protocol.ts'

const C_SOURCE = readFileSync(new URL('../../src/runtime/monitor/aurae-monitor.c', import.meta.url), 'utf8')

describe('the monitor protocol', () => {
  const run = {
    exitFile: '/d/run/web.3.exit',
    log: '/d/logs/web.log',
    logMaxBytes: 1024,
    logFiles: 5,
    cgroupProcs: ['/sys/fs/cgroup/cpu/x/cgroup.procs', '/sys/fs/cgroup/memory/x/cgroup.procs'],
    overlay: { target: '/d/b/rootfs', options: 'lowerdir=/l,upperdir=/u,workdir=/w' },
    hide: ['/root/.ssh/id_aura'],
    binds: [{ host: '/srv', path: '/srv', readOnly: true }, { host: '/tmp/x', path: '/x', readOnly: false }],
    attach: '/d/run/attach-1.sock',
    workdir: '/',
    argv: ['sh', '-c', 'echo --log; exit 3']
  }

  it('tells the monitor everything about a run, the workload\'s own arguments last and untouched', () => {
    expect(monitorArgs(run)).toEqual([
      '--exit-file', '/d/run/web.3.exit', '--log', '/d/logs/web.log', '--log-max-bytes', '1024', '--log-files', '5',
      '--cgroup-procs', '/sys/fs/cgroup/cpu/x/cgroup.procs', '--cgroup-procs', '/sys/fs/cgroup/memory/x/cgroup.procs',
      '--overlay', '/d/b/rootfs', '--overlay-options', 'lowerdir=/l,upperdir=/u,workdir=/w',
      '--hide', '/root/.ssh/id_aura',
      '--bind-ro', '/srv', '/srv', '--bind', '/tmp/x', '/x',
      '--attach', '/d/run/attach-1.sock',
      '--workdir', '/', '--', 'sh', '-c', 'echo --log; exit 3'
    ])
    const bare = monitorArgs({ ...run, cgroupProcs: [], overlay: undefined, hide: [], binds: [], attach: undefined })
    expect(bare).toEqual(['--exit-file', '/d/run/web.3.exit', '--log', '/d/logs/web.log', '--log-max-bytes', '1024', '--log-files', '5', '--workdir', '/', '--', 'sh', '-c', 'echo --log; exit 3'])
  })

  it('uses only options the C monitor parses', () => {
    const options = monitorArgs(run).slice(0, monitorArgs(run).indexOf('--')).filter(a => a.startsWith('--'))
    for (const o of new Set(options)) expect({ o, parsed: C_SOURCE.includes(`strcmp(a, "${o}")`) }).toEqual({ o, parsed: true })
  })

  it('names a run\'s exit file by workload and run, and reads one only once it is whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'monitor-protocol-'))
    try {
      expect(exitFilePath(dir, 'web', 3)).toBe(join(dir, 'web.3.exit'))
      const path = exitFilePath(dir, 'web', 3)
      expect(readExitFile(path)).toBeUndefined()
      writeFileSync(path, '{"exitCode":')
      expect(readExitFile(path)).toBeUndefined()
      writeFileSync(path, JSON.stringify({ exitCode: 3, signal: null, finishedAt: '2026-12-01T00:00:00Z' }))
      expect(readExitFile(path)).toEqual({ exitCode: 3, signal: null, finishedAt: '2026-12-01T00:00:00Z' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
