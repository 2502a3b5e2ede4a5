import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { credentials } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkloadServiceClient } from '../../src/gen/aurae/workloads/v0/workloads.ts'
import { AURAE, ROOT, run, startNode, workload, type TestNode } from '../helpers/node.ts'

const oneLine = (text: string): void => {
  expect(text.trim().split('\n')).toHaveLength(1)
  expect(text).not.toMatch(/\n\s+at /)
}

describe('bad input gets a one-line error and a non-zero exit', () => {
  let node: TestNode
  beforeAll(async () => { node = await startNode('strict') })
  afterAll(async () => { await node.stop() })

  it.each([
    [['ps', '--bogus'], 2, 'aurae: unknown flag --bogus for aurae ps (see aurae ps --help)'],
    [['frobnicate'], 2, 'aurae: unknown command "frobnicate" (see aurae --help)'],
    [['exec', 'Bad Name!', '--', 'true'], 125, 'aurae: invalid workload name "Bad Name!": use letters, digits, "_", "." or "-" (at most 128, starting with a letter or digit)'],
    [['exec', '--memory', 'lots', '--', 'true'], 2, 'aurae: invalid memory size "lots": expected a number with an optional unit, such as 64M or 1G'],
    [['exec', '--cpus', '-1', '--', 'true'], 2, 'aurae: invalid cpus "-1": expected a positive number of cores, such as 0.5 or 2'],
    [['run', 'busybox', '--pids', 'many'], 2, 'aurae: invalid pids limit "many": expected a whole number of at least 1'],
    [['exec', '--restart', 'sometimes', '--', 'true'], 125, 'aurae: invalid restart policy "sometimes": expected no, on-failure, always'],
    [['exec', 'job'], 125, 'aurae: missing command: put it after --, as in: aurae exec -- echo hi'],
    [['stop', 'nothing-here'], 1, 'aurae: no workload named nothing-here'],
    [['logs'], 2, 'aurae: missing workload name: aurae logs NAME'],
    [['up', 'Not_A_Peer'], 2, 'aurae: invalid peer name "Not_A_Peer" in "Not_A_Peer": use lowercase letters, digits and "-" (at most 63)'],
    [['cell', 'allocate', 'box', '--isolation', 'jail'], 2, 'aurae: invalid --isolation "jail": expected vm'],
    [['cell', 'free', 'nothing-here'], 1, 'aurae: no cell named nothing-here'],
    [['exec', '--cell', 'nothing-here', '--', 'true'], 125, 'aurae: cell nothing-here is not allocated']
  ])('aurae %j exits %i with one line', async (args, code, message) => {
    const res = await node.cli(args)
    expect(res.code).toBe(code)
    expect(res.stdout).toBe('')
    expect(res.stderr.trim()).toBe(message)
  })

  it('execs -d into a workload that runs (as docker exec -d), and refuses exec into a workload that has ended', async () => {
    await node.cli(['exec', 'taken', '-d', '--', 'sleep', '300'])
    expect(await node.cli(['exec', 'taken', '-d', '--', 'true'])).toEqual({ code: 0, stdout: '', stderr: '' })
    await node.cli(['rm', '-f', 'taken'])
    await node.cli(['exec', 'ended', '--', 'true'])
    const into = await node.cli(['exec', 'ended', '--', 'true'])
    expect(into.code).toBe(125)
    expect(into.stderr).toBe('aurae: workload ended is not running\n')
    await node.cli(['rm', 'ended'])
  })

  it('refuses a daemon\'s --up and --trust that name no node, before it starts', async () => {
    const auraed = join(ROOT, 'bin', 'auraed.js')
    const dir = mkdtempSync(join(tmpdir(), 'aurae-flags-'))
    try {
      const bad = async (...args: string[]): Promise<string> => {
        const res = await run(process.execPath, [auraed, '--sock', join(dir, 's.sock'), '--data', dir, ...args])
        expect(res.code).toBe(2)
        oneLine(res.stderr)
        return res.stderr
      }
      expect(await bad('--trust', 'nobody')).toBe('auraed: invalid --trust "nobody": expected PEERID=NAME[@DOMAIN]\n')
      expect(await bad('--up', 'Bad_Name')).toMatch(/^auraed: invalid peer name "Bad_Name"/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('ends aurae logs -f quietly with 141 when its reader goes away, as SIGPIPE ends a program (no stack, no wait)', async () => {
    expect((await node.cli(['exec', 'chatty', '-d', '--', 'sh', '-c', 'yes line | head -c 20000000; exec sleep 300'])).code).toBe(0)
    const follower = node.spawnCli(['logs', '-f', 'chatty'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    follower.stderr?.on('data', d => { stderr += String(d) })
    const exited = new Promise<number | null>(resolve => follower.once('exit', code => resolve(code)))
    // The first bytes, then the reader is gone: aurae's next writes find no one.
    await new Promise(resolve => follower.stdout?.once('data', resolve))
    follower.stdout?.destroy()
    expect(await exited).toBe(141)
    expect(stderr).toBe('')
    await node.cli(['rm', '-f', 'chatty'])
  })

  it('says how to start a daemon that is not running', async () => {
    const res = await run(process.execPath, [AURAE, '--sock', join(node.dir, 'nobody.sock'), 'ps'])
    expect(res.code).toBe(3)
    expect(res.stderr.trim()).toBe(`aurae: auraed is not running on ${join(node.dir, 'nobody.sock')}; start it with: aurae up NAME[@DOMAIN]`)
  })

  it('refuses a socket owned by someone else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-other-'))
    chmodSync(dir, 0o755)
    const other = join(dir, 'other.sock')
    writeFileSync(other, '')
    chownSync(other, 0, 0)
    const res = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, AURAE, '--sock', other, 'ps'])
    expect(res.code).toBe(1)
    expect(res.stderr.trim()).toBe(`aurae: the socket ${other} belongs to uid 0, not you (uid 65534); run as that user, or start your own node with --sock`)
    rmSync(dir, { recursive: true })
  })

  it('gives an old Node one line instead of a stack trace where the project\'s own Node is missing', async () => {
    // The bins alone, without the checkout's node_modules: nothing newer to run on.
    const bare = join(node.dir, 'bare')
    mkdirSync(join(bare, 'bin'), { recursive: true })
    for (const f of ['aurae.js', 'own-node.js']) copyFileSync(join(ROOT, 'bin', f), join(bare, 'bin', f))
    const res = await run('/usr/bin/node', [join(bare, 'bin', 'aurae.js'), 'status'])
    expect(res.code).toBe(1)
    oneLine(res.stderr)
    expect(res.stderr).toMatch(/^aurae: Node.js 22 or newer is needed \(this is 20\.[\d.]+\); run npm ci in .*bare\/ to install the project's own\n$/)
  })

  it('survives garbage on its socket and invalid requests from a raw client', async () => {
    await new Promise<void>(resolve => {
      const c = createConnection(node.sock, () => c.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x05garbage-frames-and-nonsense\xff\xff')))
      c.setTimeout(1000, () => c.destroy())
      c.on('error', () => resolve())
      c.on('close', () => resolve())
    })
    const client = new WorkloadServiceClient(`unix:${node.sock}`, credentials.createInsecure())
    const call = async (spec: any): Promise<string> => await new Promise(resolve => {
      const stream = client.run({ spec, detach: true, remove: false })
      stream.on('data', () => {})
      stream.on('error', (err: any) => resolve(err.details))
      stream.on('end', () => resolve('ok'))
    })
    expect(await call(undefined)).toBe('missing workload spec')
    expect(await call({ name: 'x'.repeat(5000), executable: { command: ['true'], env: {}, workdir: '', volumes: [] }, restart: '', cell: '' })).toMatch(/^invalid workload name/)
    expect(await call({ name: 'nul', executable: { command: ['tr\0ue'], env: {}, workdir: '', volumes: [] }, restart: '', cell: '' })).toBe('the command contains a NUL byte')
    // A kind this node does not run (a newer client's `vm`) reaches it as no kind at all.
    expect(await call({ name: 'vm', restart: '', cell: '' })).toMatch(/^the workload spec names no kind this node runs/)
    expect(await call({ name: 'rel', executable: { command: ['true'], env: {}, workdir: 'tmp', volumes: [] }, restart: '', cell: '' })).toMatch(/^invalid workdir/)
    expect(await call({ name: 'lim', executable: { command: ['true'], env: {}, workdir: '', volumes: [] }, limits: { cpus: -3, memoryBytes: 0, pids: 0 }, restart: '', cell: '' })).toMatch(/^invalid cpus/)
    expect(await call({ name: 'env', executable: { command: ['true'], env: { 'A=B': 'c' }, workdir: '', volumes: [] }, restart: '', cell: '' })).toMatch(/^invalid environment variable name/)
    client.close()
    const status = await node.cli(['status', '--json'])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout).state).toBe('running')
    expect(await workload(node, 'nul')).toBeUndefined()
  })
})
