import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { credentials } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CellServiceClient } from '../../src/gen/aurae/workloads/v0/cells.ts'
import { startNode, workload, type TestNode } from '../helpers/node.ts'

describe('the cell service shares one cell\'s limits between executables', () => {
  let node: TestNode
  let cells: CellServiceClient
  const call = async <T>(method: string, req: object): Promise<T> => await new Promise((resolve, reject) => {
    (cells as any)[method](req, (err: any, res: T) => err === null ? resolve(res) : reject(new Error(err.details)))
  })
  beforeAll(async () => {
    node = await startNode('cells-api')
    cells = new CellServiceClient(`unix:${node.sock}`, credentials.createInsecure())
  })
  afterAll(async () => {
    cells.close()
    await node.stop()
  })

  it('allocates, starts two executables in one cgroup, lists, refuses to free while busy, frees with force', async () => {
    const nodeKey = createHash('sha256').update(node.data).digest('hex').slice(0, 12)
    const dir = (c: string): string => join('/sys/fs/cgroup', c, 'aurae', nodeKey, 'cell-shared')
    await call('allocate', { name: 'shared', limits: { cpus: 0, memoryBytes: 128 * 1024 * 1024, pids: 50 }, isolation: '' })
    expect(readFileSync(join(dir('memory'), 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(128 * 1024 * 1024))
    await expect(call('allocate', { name: 'shared', isolation: '' })).rejects.toThrow('a cell named shared already exists')

    for (const name of ['one', 'two']) {
      await call('start', { cellName: 'shared', name, executable: { command: ['sleep', '300'], env: {}, workdir: '', volumes: [] }, restart: '' })
    }
    const procs = readFileSync(join(dir('pids'), 'cgroup.procs'), 'utf8').trim().split('\n')
    expect(procs).toContain(String((await workload(node, 'one')).pid))
    expect(procs).toContain(String((await workload(node, 'two')).pid))

    const list = await call<any>('list', {})
    expect(list.cells).toEqual([expect.objectContaining({ name: 'shared', executables: ['one', 'two'] })])
    await expect(call('free', { name: 'shared' })).rejects.toThrow('cell shared still runs one, two')

    await call('stop', { name: 'one', timeoutSeconds: 0 })
    expect((await workload(node, 'one')).state).toBe('exited')
    expect(existsSync(dir('pids'))).toBe(true)

    await call('free', { name: 'shared', force: true })
    expect((await workload(node, 'two')).state).toBe('exited')
    expect(existsSync(dir('pids'))).toBe(false)
    expect((await call<any>('list', {})).cells).toEqual([])
    await expect(call('start', { cellName: 'shared', name: 'three', executable: { command: ['true'], env: {}, workdir: '', volumes: [] }, restart: '' })).rejects.toThrow('no cell named shared')
  })

  it('does the same from the CLI: cell allocate, exec --cell, cell ls, cell free', async () => {
    expect(await node.cli(['cell', 'allocate', 'team', '--memory', '64M', '--pids', '20'])).toEqual({ code: 0, stdout: 'team\n', stderr: '' })
    expect((await node.cli(['exec', '--cell', 'team', 'a', '-d', '--', 'sleep', '300'])).code).toBe(0)
    expect(await node.cli(['exec', '--cell', 'team', '--', 'sh', '-c', 'cat /proc/self/cgroup | grep -c cell-team'])).toMatchObject({ code: 0 })
    expect(JSON.parse((await node.cli(['cell', 'ls', '--json'])).stdout)).toMatchObject([{ name: 'team', isolation: 'cgroup', limits: { memoryBytes: 64 * 1024 * 1024, pids: 20 }, executables: expect.arrayContaining(['a']) }])
    expect((await node.cli(['cell', 'ls'])).stdout).toMatch(/^NAME +ISOLATION +CPUS +MEMORY +PIDS +EXECUTABLES\nteam +cgroup +- +64M +20 +a/)
    const busy = await node.cli(['cell', 'free', 'team'])
    expect(busy.code).toBe(1)
    expect(busy.stderr).toMatch(/^aurae: cell team still runs a/)
    expect(await node.cli(['cell', 'free', 'team', '--force'])).toEqual({ code: 0, stdout: 'team\n', stderr: '' })
    expect(JSON.parse((await node.cli(['cell', 'ls', '--json'])).stdout)).toEqual([])
  })
})
