// The original Aurae's ObserveService, driven by a client that proto-loader makes from the .proto alone: the daemon's
// log as it is written, and a process's output by its PID, on the original's channel names, until it ends.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, startNode, until, workload, type TestNode } from '../helpers/node.ts'

interface Item { channel: string, line: string, timestamp: number }

describe('the node answers the original\'s ObserveService', () => {
  let node: TestNode
  let observe: any
  let dir: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-observe-'))
    node = await startNode('observe')
    const pkg = grpc.loadPackageDefinition(loader.loadSync(join(ROOT, 'proto', 'aurae', 'observe', 'v0', 'observe.proto'), { keepCase: true, defaults: true, longs: Number, enums: String })) as any
    observe = new pkg.aurae.observe.v0.ObserveService(`unix:${node.sock}`, grpc.credentials.createInsecure())
  })
  afterAll(async () => {
    observe?.close()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** A stream's items, and how it ended (null while open; its error's code, or 0). */
  const collect = (call: grpc.ClientReadableStream<Item>): { items: Item[], end: () => number | null } => {
    const items: Item[] = []
    let end: number | null = null
    call.on('data', (item: Item) => items.push(item))
    call.on('error', (err: grpc.ServiceError) => { end = err.code })
    call.on('end', () => { end ??= 0 })
    return { items, end: () => end }
  }

  it('streams the daemon\'s log as it is written, on channel auraed', async () => {
    const log = collect(observe.GetAuraeDaemonLogStream({}))
    // The daemon's log says when the node is renamed: each try renames it once more, until the stream (open by
    // then) has seen one.
    const before = Math.floor(Date.now() / 1000)
    let tries = 0
    const renamed = await until('the stream to see the node renamed', async () => {
      expect((await node.cli(['up', `observe-${++tries}`, '--rename', '--key', node.key, '--data', node.data])).code).toBe(0)
      return log.items.find(i => i.line.includes('node renamed'))
    })
    expect(renamed.channel).toBe('auraed')
    expect(renamed.line).toMatch(/^INFO:auraed -- node renamed name=observe-\d+ domain=\S* peerId=\S+ keyCreated=false$/)
    expect(renamed.timestamp).toBeGreaterThanOrEqual(before)
    expect(renamed.timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000))
    expect(log.end()).toBeNull()
  })

  it('streams a process\'s stdout and stderr apart, by its PID: what it wrote, then each line, until it ends', async () => {
    const gate = join(dir, 'gate')
    const started = await node.cli(['exec', 'chatter', '-d', '--', 'sh', '-c', `echo one; echo oops >&2; while [ ! -e ${gate} ]; do sleep 0.05; done; echo two; echo oops2 >&2`])
    expect(started.code).toBe(0)
    const pid = (await until('chatter to run', async () => { const w = await workload(node, 'chatter'); return w?.pid > 0 ? w : undefined })).pid
    const out = collect(observe.GetSubProcessStream({ channel_type: 'LOG_CHANNEL_TYPE_STDOUT', process_id: pid }))
    const err = collect(observe.GetSubProcessStream({ channel_type: 'LOG_CHANNEL_TYPE_STDERR', process_id: pid }))
    await until('what it wrote so far', () => out.items.length === 1 && err.items.length === 1)
    writeFileSync(gate, '')
    await until('both streams to end with the process', () => out.end() !== null && err.end() !== null)
    expect(out.items.map(i => [i.channel, i.line])).toEqual([['chatter::stdout', 'one'], ['chatter::stdout', 'two']])
    expect(err.items.map(i => [i.channel, i.line])).toEqual([['chatter::stderr', 'oops'], ['chatter::stderr', 'oops2']])
    expect([out.end(), err.end()]).toEqual([0, 0])
    expect(existsSync(gate)).toBe(true)
  })

  it('refuses an unknown PID, a channel of neither kind, and the POSIX signal stream, with the original\'s codes', async () => {
    const ended = async (call: grpc.ClientReadableStream<Item>): Promise<grpc.ServiceError> => await new Promise(resolve => call.on('error', resolve))
    const unknown = await ended(observe.GetSubProcessStream({ channel_type: 'LOG_CHANNEL_TYPE_STDOUT', process_id: 999999999 }))
    expect([unknown.code, unknown.details]).toEqual([grpc.status.NOT_FOUND, 'no running workload\'s process has PID 999999999'])
    const neither = await ended(observe.GetSubProcessStream({ channel_type: 'LOG_CHANNEL_TYPE_UNSPECIFIED', process_id: 1 }))
    expect(neither.code).toBe(grpc.status.INVALID_ARGUMENT)
    const signals = await ended(observe.GetPosixSignalsStream({}))
    expect(signals.code).toBe(grpc.status.UNIMPLEMENTED)
    expect(signals.details).toMatch(/needs eBPF/)
  })
})
