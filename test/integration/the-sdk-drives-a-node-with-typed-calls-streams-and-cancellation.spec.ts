import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AlreadyExistsError, CancelledError, connect, DaemonUnreachableError, ForeignSocketError, InvalidArgumentError, NotFoundError,
  PermissionDeniedError, type AuraeClient, type WorkloadServiceRunResponse
} from '../../src/client/index.ts'
import { startNode, type TestNode } from '../helpers/node.ts'

/** Every event of a stream, in order. */
async function all<T> (stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of stream) out.push(item)
  return out
}

describe('the client SDK drives a real node: typed calls, streams, cancellation, the taxonomy\'s errors', () => {
  let node: TestNode
  let client: AuraeClient
  const scratch = mkdtempSync(join(tmpdir(), 'aurae-sdk-'))
  beforeAll(async () => {
    node = await startNode('sdk')
    client = connect({ socket: node.sock })
  })
  afterAll(async () => {
    client?.close()
    await node?.stop()
    rmSync(scratch, { recursive: true, force: true })
  })

  it('calls a unary method with every field it leaves out at its proto default', async () => {
    const status = await client.node.status()
    expect(status).toMatchObject({ state: 'running', name: 'sdk', socket: node.sock })
    expect(status.peerId).toMatch(/^12D3Koo/)
  })

  it('streams an attached run as an async iterable, through started and output to the exit code', async () => {
    const events = await all(client.workloads.run({ spec: { name: 'hello', executable: { command: ['sh', '-c', 'echo hi; echo oops >&2; exit 3'] } } }))
    const kinds = events.map(e => Object.keys(e).filter(k => e[k as keyof WorkloadServiceRunResponse] !== undefined)[0])
    expect(kinds[0]).toBe('started')
    expect(kinds.at(-1)).toBe('exit')
    expect(events[0].started).toMatchObject({ name: 'hello', kind: 'executable' })
    const text = (stream: string): string => Buffer.concat(events.filter(e => e.output?.stream === stream).map(e => e.output?.data ?? Buffer.alloc(0))).toString()
    expect({ stdout: text('stdout'), stderr: text('stderr') }).toEqual({ stdout: 'hi\n', stderr: 'oops\n' })
    expect(events.at(-1)?.exit).toMatchObject({ exitCode: 3, signal: '', oomKilled: false })
  })

  it('cancels a followed log stream with an AbortSignal, as a CancelledError, and the node serves on', async () => {
    await all(client.workloads.run({ spec: { name: 'ticker', executable: { command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done'] } }, detach: true }))
    const abort = new AbortController()
    const lines: string[] = []
    const reading = (async () => {
      for await (const rec of client.observe.getWorkloadLogs({ name: 'ticker', follow: true, timestamps: true }, { signal: abort.signal })) {
        lines.push(rec.data.toString())
        if (lines.length === 3) abort.abort()
      }
    })()
    await expect(reading).rejects.toBeInstanceOf(CancelledError)
    expect(lines).toEqual(['tick 1\n', 'tick 2\n', 'tick 3\n'])
    const { workloads } = await client.workloads.list()
    expect(workloads.find(w => w.name === 'ticker')?.state).toBe('running')
    await client.workloads.remove({ name: 'ticker', force: true })
  })

  it('cancels an attached run part-way, and a call whose signal has already fired never starts', async () => {
    const abort = new AbortController()
    let output = ''
    const running = (async () => {
      for await (const res of client.workloads.run({ spec: { name: 'chatty', executable: { command: ['sh', '-c', 'while true; do echo more; sleep 0.05; done'] } } }, { signal: abort.signal })) {
        output += res.output?.data.toString() ?? ''
        if (output.includes('more')) abort.abort(new Error('enough'))
      }
    })()
    const err = await running.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CancelledError)
    expect((err as Error).cause).toEqual(new Error('enough'))
    expect(await client.node.status()).toMatchObject({ state: 'running' })
    await client.workloads.remove({ name: 'chatty', force: true }).catch(() => {})

    const fired = AbortSignal.abort()
    await expect(client.workloads.run({ spec: { name: 'never', executable: { command: ['true'] } }, detach: true }, { signal: fired })[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(CancelledError)
    const { workloads } = await client.workloads.list({ all: true })
    expect(workloads.map(w => w.name)).not.toContain('never')
  })

  it('gives back the node\'s failures as the taxonomy\'s classes, with its words', async () => {
    await expect(client.workloads.stop({ name: 'nothing-here' })).rejects.toThrow(new NotFoundError('no workload named nothing-here'))
    await expect(client.workloads.stop({ name: 'nothing-here' })).rejects.toBeInstanceOf(NotFoundError)
    await expect(all(client.workloads.run({ spec: { name: 'Bad Name!', executable: { command: ['true'] } } }))).rejects.toBeInstanceOf(InvalidArgumentError)
    await all(client.workloads.run({ spec: { name: 'taken', executable: { command: ['sleep', '300'] } }, detach: true }))
    await expect(all(client.workloads.run({ spec: { name: 'taken', executable: { command: ['true'] } }, detach: true }))).rejects.toBeInstanceOf(AlreadyExistsError)
    await client.workloads.remove({ name: 'taken', force: true })
  })

  it('says when nothing answers on the socket: missing, or a file no daemon listens on', async () => {
    expect(() => connect({ socket: join(scratch, 'nobody.sock') })).toThrow(DaemonUnreachableError)
    const dead = join(scratch, 'dead.sock')
    writeFileSync(dead, '')
    const err = await connect({ socket: dead }).node.status().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DaemonUnreachableError)
    expect(err).toMatchObject({ code: 'daemon-unreachable', socket: dead, message: `auraed is not running on ${dead}` })
  })

  it('refuses a socket that belongs to another user before it connects', async () => {
    chmodSync(scratch, 0o755)
    let err: unknown
    try { connect({ socket: node.sock, uid: 65534 }) } catch (e) { err = e }
    expect(err).toBeInstanceOf(ForeignSocketError)
    expect(err).toBeInstanceOf(PermissionDeniedError)
    expect(err).toMatchObject({ code: 'permission-denied', message: `the socket ${node.sock} belongs to uid 0, not you (uid 65534)` })
    // Root may drive any node.
    expect(await connect({ socket: node.sock, uid: 0 }).node.status()).toMatchObject({ name: 'sdk' })
  })

  it('ends a stream the caller stops reading, and the node goes on answering on the same connection', async () => {
    await all(client.workloads.run({ spec: { name: 'endless', executable: { command: ['sh', '-c', 'while true; do echo x; sleep 0.02; done'] } }, detach: true }))
    for await (const rec of client.observe.getWorkloadLogs({ name: 'endless', follow: true })) {
      if (rec.data.length > 0) break
    }
    expect(await client.node.status()).toMatchObject({ state: 'running' })
    await client.workloads.remove({ name: 'endless', force: true })
  })
})
