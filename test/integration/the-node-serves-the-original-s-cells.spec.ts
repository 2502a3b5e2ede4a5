// The original Aurae's CellService (aurae.cells.v0), driven by a client that proto-loader makes from the .proto alone:
// nested cells that are nested cgroups with their limits mapped onto this host's cgroup v1, executables run as
// `sh -c` by the node's supervisor (as the uid and gid asked, in namespaces of their own when the cell says so),
// stopped and freed without a trace, kept across a daemon restart, and bad input refused with the original's codes.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, isAlive, startNode, until, workload, type TestNode } from '../helpers/node.ts'

interface Item { channel: string, line: string }

const load = (path: string): any => grpc.loadPackageDefinition(loader.loadSync(join(ROOT, 'proto', path), { keepCase: true, defaults: true, longs: Number, enums: String }))

/** Every mounted cgroup hierarchy (v1: one per controller; the unified one too). */
const hierarchies = (): string[] => readFileSync('/proc/self/mounts', 'utf8').split('\n').map(l => l.split(' '))
  .filter(f => f[2] === 'cgroup' || f[2] === 'cgroup2').map(f => f[1])

describe('the node serves the original\'s cells', () => {
  let node: TestNode
  let cells: any
  let observe: any
  /** The node's folder of the original's cells, under a hierarchy. */
  let root: (hierarchy: string) => string
  beforeAll(async () => {
    node = await startNode('cells')
    const nodeKey = createHash('sha256').update(node.data).digest('hex').slice(0, 12)
    root = hierarchy => join(hierarchy, 'aurae', nodeKey, 'aurae.cells.v0')
    cells = new (load('aurae/cells/v0/cells.proto').aurae.cells.v0.CellService)(`unix:${node.sock}`, grpc.credentials.createInsecure())
    observe = new (load('aurae/observe/v0/observe.proto').aurae.observe.v0.ObserveService)(`unix:${node.sock}`, grpc.credentials.createInsecure())
  })
  afterAll(async () => {
    cells?.close()
    observe?.close()
    await node?.stop()
    // What a failed test left: the processes in the cells' groups, then the groups, deepest first.
    for (const h of hierarchies()) {
      for (const dir of groupsUnder(root(h)).reverse()) {
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try { process.kill(Number(pid), 'SIGKILL') } catch {}
        }
        await until(`${dir} to empty`, () => readFileSync(join(dir, 'cgroup.procs'), 'utf8') === '')
        rmdirSync(dir)
      }
    }
  })

  const call = async (method: string, req: object): Promise<any> => await new Promise((resolve, reject) => {
    cells[method](req, (err: grpc.ServiceError | null, res: any) => err !== null ? reject(err) : resolve(res))
  })
  /** The status code and message a call fails with. */
  const refusal = async (method: string, req: object): Promise<[number, string]> => {
    const err = await call(method, req).then(() => undefined, (e: grpc.ServiceError) => e)
    return [err?.code ?? grpc.status.OK, err?.details ?? '']
  }
  const start = async (cell: string, name: string, command: string, extra: object = {}): Promise<{ pid: number, uid: number, gid: number }> =>
    await call('Start', { cell_name: cell, executable: { name, command, description: '' }, ...extra })
  /** Lines a running process writes to stdout, read by its PID through the original's observe service. */
  const stdout = (pid: number): { items: Item[], close: () => void } => {
    const items: Item[] = []
    const stream = observe.GetSubProcessStream({ channel_type: 'LOG_CHANNEL_TYPE_STDOUT', process_id: pid })
    stream.on('data', (item: Item) => items.push(item))
    stream.on('error', () => {})
    return { items, close: () => stream.cancel() }
  }
  const file = (hierarchy: string, cell: string, name: string): string => readFileSync(join(root(`/sys/fs/cgroup/${hierarchy}`), cell, name), 'utf8').trim()
  /** The cell's folders, in whichever hierarchy they are left. */
  const groupsOf = (cell: string): string[] => hierarchies().map(h => join(root(h), cell)).filter(d => existsSync(d))

  it('allocates nested cells with their limits mapped onto cgroup v1, lists them as a tree, and frees them all', async () => {
    const limits = { cpu: { weight: 100, max: 50_000, period: 100_000 }, cpuset: { cpus: '0', mems: '0' }, memory: { high: 32 << 20, max: 64 << 20 } }
    expect(await call('Allocate', { cell: { name: 'ae-tree', ...limits } })).toEqual({ cell_name: 'ae-tree', cgroup_v2: false })
    expect(file('cpu', 'ae-tree', 'cpu.shares')).toBe('2597')
    expect([file('cpu', 'ae-tree', 'cpu.cfs_quota_us'), file('cpu', 'ae-tree', 'cpu.cfs_period_us')]).toEqual(['50000', '100000'])
    expect([file('cpuset', 'ae-tree', 'cpuset.cpus'), file('cpuset', 'ae-tree', 'cpuset.mems')]).toEqual(['0', '0'])
    expect([file('memory', 'ae-tree', 'memory.limit_in_bytes'), file('memory', 'ae-tree', 'memory.soft_limit_in_bytes')]).toEqual([String(64 << 20), String(32 << 20)])

    // A `/` at either end is forgiven, as the original forgives it; the nested cell inherits its parent's cpuset.
    expect(await call('Allocate', { cell: { name: '/ae-tree/inner/', memory: { max: 16 << 20 } } })).toEqual({ cell_name: 'ae-tree/inner', cgroup_v2: false })
    expect(file('cpuset', 'ae-tree/inner', 'cpuset.cpus')).toBe('0')
    expect(file('memory', 'ae-tree/inner', 'memory.limit_in_bytes')).toBe(String(16 << 20))
    expect(await call('Allocate', { cell: { name: 'ae-other' } })).toEqual({ cell_name: 'ae-other', cgroup_v2: false })

    const cell = (name: string, extra: object = {}): object => ({ name, cpu: null, cpuset: null, memory: null, isolate_process: false, isolate_network: false, ...extra })
    expect((await call('List', {})).cells).toEqual([
      { cell: cell('ae-tree', { cpu: { weight: 100, max: 50_000, period: 100_000 }, cpuset: { cpus: '0', mems: '0' }, memory: { high: 32 << 20, max: 64 << 20 } }), children: [{ cell: cell('ae-tree/inner', { memory: { max: 16 << 20 } }), children: [] }] },
      { cell: cell('ae-other'), children: [] }
    ])

    // Free takes what runs in the cell and in the cells nested in it, and every folder of theirs.
    const outer = await start('ae-tree', 'outer', 'sleep 1000')
    const inner = await start('ae-tree/inner', 'inner', 'sleep 1000')
    expect([isAlive(outer.pid), isAlive(inner.pid)]).toEqual([true, true])
    expect(readFileSync(join(root('/sys/fs/cgroup/cpuset'), 'ae-tree/inner', 'cgroup.procs'), 'utf8').split('\n')).toContain(String(inner.pid))
    expect(groupsOf('ae-tree/inner').length).toBe(hierarchies().filter(h => /cpu$|cpuset$|memory$|pids$/.test(h)).length)
    expect(await call('Free', { cell_name: 'ae-tree' })).toEqual({})
    await until('the executables to be gone', () => !isAlive(outer.pid) && !isAlive(inner.pid))
    expect(groupsOf('ae-tree')).toEqual([])
    expect(await workload(node, 'ae-tree_outer')).toBeUndefined()
    expect((await call('List', {})).cells).toEqual([{ cell: cell('ae-other'), children: [] }])
    expect(await call('Free', { cell_name: 'ae-other' })).toEqual({})
    expect(hierarchies().filter(h => existsSync(root(h)))).toEqual([])
  })

  it('runs a command line with sh -c, as the uid and gid asked, its output read by its PID; stops and forgets it', async () => {
    await call('Allocate', { cell: { name: 'ae-run' } })
    const piped = await start('ae-run', 'piped', 'echo piped | tr a-z A-Z && echo and')
    expect(piped).toEqual({ pid: expect.any(Number), uid: 0, gid: 0 })
    await until('the pipeline to end', async () => (await workload(node, 'ae-run_piped'))?.state === 'exited')
    expect((await node.cli(['logs', 'ae-run_piped'])).stdout).toBe('PIPED\nand\n')

    const who = await start('ae-run', 'who', 'id -u; id -g; id -G; exec sleep 1000', { uid: 65534, gid: 65533 })
    expect(who).toEqual({ pid: expect.any(Number), uid: 65534, gid: 65533 })
    const out = stdout(who.pid)
    await until('its ids', () => out.items.length === 3)
    expect(out.items).toEqual(['65534', '65533', '65533'].map(line => expect.objectContaining({ channel: 'who::stdout', line })))
    out.close()
    expect(readFileSync(`/proc/${who.pid}/status`, 'utf8')).toMatch(/^Uid:\t65534\t/m)
    expect(await workload(node, 'ae-run_who')).toMatchObject({ state: 'running', pid: who.pid })

    expect(await call('Stop', { cell_name: 'ae-run', executable_name: 'who' })).toEqual({})
    expect(isAlive(who.pid)).toBe(false)
    expect(await workload(node, 'ae-run_who')).toBeUndefined()
    expect(await refusal('Stop', { cell_name: 'ae-run', executable_name: 'who' })).toEqual([grpc.status.NOT_FOUND, 'cell ae-run has no executable named who'])
    // One that has ended is known until it is stopped, as the original's.
    expect(await refusal('Start', { cell_name: 'ae-run', executable: { name: 'piped', command: 'true' } })).toEqual([grpc.status.ALREADY_EXISTS, 'cell ae-run already has an executable named piped'])
    expect(await call('Stop', { cell_name: 'ae-run', executable_name: 'piped' })).toEqual({})
    await call('Free', { cell_name: 'ae-run' })
  })

  it('gives the PID of an executable that ends at once, as of one that runs on', async () => {
    await call('Allocate', { cell: { name: 'ae-brief' } })
    // An executable may end before Start answers: its PID is still the one it ran as, never 0.
    const pids = []
    for (let i = 0; i < 20; i++) pids.push((await start('ae-brief', `true-${i}`, 'true')).pid)
    expect(pids.filter(pid => !(pid > 1))).toEqual([])
    expect(new Set(pids).size).toBe(20)
    expect(await call('Free', { cell_name: 'ae-brief' })).toEqual({})
  })

  it('gives a cell\'s executables their own pid, mount, ipc and uts namespaces, and their own network', async () => {
    await call('Allocate', { cell: { name: 'ae-isolated', isolate_process: true } })
    const ps = await start('ae-isolated', 'ps', 'echo pid $$; echo procs $(ls /proc | grep -c "^[0-9]"); hostname ae-isolated-host; hostname; exec sleep 1000')
    expect(readFileSync(`/proc/${ps.pid}/status`, 'utf8')).toMatch(new RegExp(`^NSpid:\\t${ps.pid}\\t1$`, 'm'))
    const out = stdout(ps.pid)
    await until('its view', () => out.items.length === 3)
    out.close()
    expect(out.items.map(i => i.channel)).toEqual(['ps::stdout', 'ps::stdout', 'ps::stdout'])
    expect(out.items[0].line).toBe('pid 1')
    // Its shell, the command substitution's subshell, ls and grep: none of the host's (which has hundreds).
    expect(Number(out.items[1].line.split(' ')[1])).toBeLessThanOrEqual(5)
    expect(out.items[2].line).toBe('ae-isolated-host')
    expect(hostname()).not.toBe('ae-isolated-host')
    // `aurae exec` beside it enters the namespaces its cell gave it: its hostname, its /proc (only reads here).
    const inside = await node.cli(['exec', 'ae-isolated_ps', '--', 'sh', '-c', 'hostname; ls /proc | grep -c "^[0-9]"'])
    expect(inside.code).toBe(0)
    const [host, procs] = inside.stdout.trim().split('\n')
    expect(host).toBe('ae-isolated-host')
    expect(Number(procs)).toBeLessThanOrEqual(6)
    const unshare = (await workload(node, 'ae-isolated_ps')).pid
    expect(await call('Stop', { cell_name: 'ae-isolated', executable_name: 'ps' })).toEqual({})
    expect([isAlive(unshare), isAlive(ps.pid)]).toEqual([false, false])

    await call('Allocate', { cell: { name: 'ae-isolated/net', isolate_network: true } })
    const net = await start('ae-isolated/net', 'net', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; exec sleep 1000')
    const devs = stdout(net.pid)
    await until('its interfaces', () => devs.items.length > 0)
    devs.close()
    expect(devs.items.map(i => i.line)).toEqual(['lo'])

    // Both at once, as another user: the namespaces are made first, then the ids are dropped.
    await call('Allocate', { cell: { name: 'ae-isolated/both', isolate_process: true, isolate_network: true } })
    const both = await start('ae-isolated/both', 'both', 'echo $$ $(id -u); tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; exec sleep 1000', { uid: 65534, gid: 65534 })
    const seen = stdout(both.pid)
    await until('its view', () => seen.items.length === 2)
    seen.close()
    expect(seen.items.map(i => i.line)).toEqual(['1 65534', 'lo'])
    // `aurae exec` beside it enters its network namespace too (nothing here changes the host, should it not).
    const nets = await node.cli(['exec', 'ae-isolated.both_both', '--', 'sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'])
    expect(nets).toMatchObject({ code: 0, stdout: 'lo\n' })
    await call('Free', { cell_name: 'ae-isolated' })
    await until('the executables to be gone', () => !isAlive(net.pid) && !isAlive(both.pid))
    expect(groupsOf('ae-isolated')).toEqual([])
  })

  it('keeps its cells and their running executables across a daemon restart', async () => {
    await call('Allocate', { cell: { name: 'ae-kept', cpu: { max: 20_000 } } })
    await call('Allocate', { cell: { name: 'ae-kept/empty' } })
    const { pid } = await start('ae-kept', 'sleeper', 'exec sleep 1000')
    expect((await node.cli(['down', '--keep-workloads'])).code).toBe(0)
    expect(isAlive(pid)).toBe(true)
    expect((await node.up()).code).toBe(0)
    expect((await call('List', {})).cells.map((n: any) => [n.cell.name, n.cell.cpu, n.children.map((c: any) => c.cell.name)])).toEqual([['ae-kept', { max: 20_000 }, ['ae-kept/empty']]])
    expect(file('cpu', 'ae-kept', 'cpu.cfs_quota_us')).toBe('20000')
    expect(existsSync(join(root('/sys/fs/cgroup/cpuset'), 'ae-kept/empty'))).toBe(true)
    expect(await workload(node, 'ae-kept_sleeper')).toMatchObject({ state: 'running', pid })
    expect(await refusal('Start', { cell_name: 'ae-kept', executable: { name: 'sleeper', command: 'true' } })).toEqual([grpc.status.ALREADY_EXISTS, 'cell ae-kept already has an executable named sleeper'])
    await call('Stop', { cell_name: 'ae-kept', executable_name: 'sleeper' })
    expect(isAlive(pid)).toBe(false)
    await call('Free', { cell_name: 'ae-kept' })
    expect(groupsOf('ae-kept')).toEqual([])
  })

  it('refuses bad input with the original\'s status codes, in one line, and goes on serving', async () => {
    const FP = grpc.status.FAILED_PRECONDITION
    const allocate = async (cell: object | undefined): Promise<[number, string]> => await refusal('Allocate', cell === undefined ? {} : { cell })
    expect(await allocate(undefined)).toEqual([FP, 'cell is required'])
    expect(await allocate({ name: '' })).toEqual([FP, 'cell name is required'])
    for (const name of ['nope_nope', '-dash', 'dash-', 'a//b', 'x'.repeat(64), 'a/b.c']) {
      expect((await allocate({ name }))[0]).toBe(FP)
    }
    expect(await allocate({ name: 'ae-bad', cpu: { weight: 0 } })).toEqual([FP, 'cpu weight 0 is out of range: 1 to 10000'])
    expect(await allocate({ name: 'ae-bad', cpu: { weight: 10_001 } })).toEqual([FP, 'cpu weight 10001 is out of range: 1 to 10000'])
    expect(await allocate({ name: 'ae-bad', cpuset: { cpus: '0-x' } })).toEqual([FP, 'cpuset cpus "0-x" is malformed: expected a list such as 0-1,3'])
    expect((await allocate({ name: 'ae-bad', cpuset: { cpus: '0-4095' } }))[0]).toBe(FP)
    expect(await allocate({ name: 'ae-bad', memory: { low: 1 << 20 } })).toEqual([FP, 'memory low cannot be set on this host: cgroup v1 has no memory protection (memory.low is cgroup v2\'s)'])
    expect((await allocate({ name: 'ae-bad', memory: { min: 1 << 20 } }))[1]).toMatch(/^memory min cannot be set/)
    expect(hierarchies().filter(h => existsSync(join(root(h), 'ae-bad')))).toEqual([])
    expect(await allocate({ name: 'ae-orphan/child' })).toEqual([grpc.status.NOT_FOUND, 'no cell named ae-orphan, which ae-orphan/child would be nested in'])

    await call('Allocate', { cell: { name: 'ae-bad' } })
    expect(await allocate({ name: 'ae-bad' })).toEqual([grpc.status.ALREADY_EXISTS, 'a cell named ae-bad already exists'])
    const startIn = async (req: object): Promise<[number, string]> => await refusal('Start', req)
    expect(await startIn({ cell_name: 'ae-none', executable: { name: 'x', command: 'true' } })).toEqual([grpc.status.NOT_FOUND, 'no cell named ae-none'])
    expect(await startIn({ executable: { name: 'x', command: 'true' } })).toEqual([FP, 'cell_name is required: executables run in a cell'])
    expect(await startIn({ cell_name: 'ae-bad' })).toEqual([FP, 'executable is required'])
    expect(await startIn({ cell_name: 'ae-bad', executable: { name: '', command: 'true' } })).toEqual([FP, 'executable name is required'])
    expect(await startIn({ cell_name: 'ae-bad', executable: { name: 'x', command: ' ' } })).toEqual([FP, 'executable command is required'])
    expect(await startIn({ cell_name: 'ae-bad', executable: { name: 'x', command: 'echo a\0b' } })).toEqual([FP, 'executable command contains a NUL byte'])
    expect((await startIn({ cell_name: 'ae-bad', executable: { name: 'x', command: `echo ${'a'.repeat(200_000)}` } }))[0]).toBe(FP)
    expect((await startIn({ cell_name: 'ae-bad', executable: { name: 'a/b', command: 'true' } }))[0]).toBe(FP)
    await start('ae-bad', 'x', 'true')
    expect(await startIn({ cell_name: 'ae-bad', executable: { name: 'x', command: 'true' } })).toEqual([grpc.status.ALREADY_EXISTS, 'cell ae-bad already has an executable named x'])
    expect(await refusal('Stop', { cell_name: 'ae-none', executable_name: 'x' })).toEqual([grpc.status.NOT_FOUND, 'no cell named ae-none'])
    expect(await refusal('Stop', { cell_name: 'ae-bad', executable_name: 'y' })).toEqual([grpc.status.NOT_FOUND, 'cell ae-bad has no executable named y'])
    expect(await refusal('Free', { cell_name: 'ae-none' })).toEqual([grpc.status.NOT_FOUND, 'no cell named ae-none'])
    expect(await refusal('Free', { cell_name: 'no_pe' })).toEqual([FP, expect.stringMatching(/^invalid cell name "no_pe"/)])
    expect(await call('Free', { cell_name: 'ae-bad' })).toEqual({})

    // Nested until the cgroup's path is longer than the kernel takes: refused, and nothing of it is left.
    let deep = 'ae-deep'
    await call('Allocate', { cell: { name: deep } })
    let refused: [number, string] = [grpc.status.OK, '']
    for (let i = 0; i < 80 && refused[0] === grpc.status.OK; i++) {
      const next = `${deep}/${'d'.repeat(63)}`
      refused = await allocate({ name: next })
      if (refused[0] === grpc.status.OK) deep = next
    }
    expect(refused).toEqual([FP, 'the cell\'s path is too long for a cgroup'])
    expect(await call('Free', { cell_name: 'ae-deep' })).toEqual({})
    expect(groupsOf('ae-deep')).toEqual([])
    expect((await call('List', {})).cells).toEqual([])
  })
})

/** Every folder below `dir`, parents before their children (none when `dir` is not there). */
function groupsUnder (dir: string): string[] {
  if (!existsSync(dir)) return []
  const below = readdirSync(dir, { withFileTypes: true }).filter(d => d.isDirectory()).map(d => join(dir, d.name))
  return [dir, ...below.flatMap(groupsUnder)]
}
