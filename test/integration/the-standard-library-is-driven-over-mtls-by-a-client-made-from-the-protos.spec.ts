// Issue 13's end to end: a node with an mTLS socket, a client certificate from `aurae pki client`, and clients that
// proto-loader makes from the .proto files alone (no code of the project's) driving every method of the standard
// library over that socket, as the original's clients do: cells, discovery, gRPC health, observe, and the VM service.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, startNode, until, type TestNode } from '../helpers/node.ts'
import { firstOf, service, TLS_OPTIONS, tlsCredentials, unary } from '../helpers/proto-client.ts'

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version
const CELL = 'ae-stdlib'

/** Cgroup directories named after the test's cell, in any hierarchy. */
const cgroupsOfCell = (): string => execFileSync('find', ['/sys/fs/cgroup', '-name', `${CELL}*`], { encoding: 'utf8' }).trim()

describe('the standard library is driven over mTLS by a client made from the protos', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-stdlib-'))
  const tlsSock = join(dir, 'tls.sock')
  const pki = join(dir, 'pki')
  const out = join(dir, 'client')
  let node: TestNode
  const clients: grpc.Client[] = []
  const over = (file: string, name: string): any => {
    const creds = tlsCredentials(join(out, 'ca.crt'), join(out, 'client.alice.key'), join(out, '_signed.client.alice.crt'))
    const c = new (service(file, name))(`unix:${tlsSock}`, creds, TLS_OPTIONS)
    clients.push(c)
    return c
  }
  let cells: any
  let observe: any

  beforeAll(async () => {
    node = await startNode('stdlib@example.org', ['--listen', '/ip4/127.0.0.1/tcp/0', '--tls-sock', tlsSock, '--pki', pki])
    const issued = await node.cli(['pki', 'client', 'alice', '--pki', pki, '--out', out, '--config', join(dir, 'config')])
    expect(issued.code).toBe(0)
    cells = over('aurae/cells/v0/cells.proto', 'aurae.cells.v0.CellService')
    observe = over('aurae/observe/v0/observe.proto', 'aurae.observe.v0.ObserveService')
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('allocates nested cells, starts an executable as another user, streams its output, lists, stops and frees', async () => {
    expect(await unary(cells, 'Allocate', { cell: { name: CELL, cpu: { weight: 100, max: 50000 }, memory: { max: 64 * 1024 * 1024 } } }))
      .toEqual({ cell_name: CELL, cgroup_v2: false })
    expect(await unary(cells, 'Allocate', { cell: { name: `${CELL}/inner` } })).toEqual({ cell_name: `${CELL}/inner`, cgroup_v2: false })
    await expect(unary(cells, 'Allocate', { cell: { name: CELL } })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS })
    await expect(unary(cells, 'Allocate', { cell: { name: 'ae_no_underscore' } })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION })

    const started = await unary(cells, 'Start', { cell_name: CELL, executable: { name: 'greeter', command: 'echo "hello from $(id -u):$(id -g)" && exec sleep 60', description: 'greets' }, uid: 65534, gid: 65534 })
    expect(started).toEqual({ pid: expect.any(Number), uid: 65534, gid: 65534 })
    expect(started.pid).toBeGreaterThan(1)
    await expect(unary(cells, 'Start', { cell_name: CELL, executable: { name: 'greeter', command: 'true' } })).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS })
    await expect(unary(cells, 'Start', { cell_name: 'ae-nowhere', executable: { name: 'x', command: 'true' } })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })

    const item = await firstOf(observe, 'GetSubProcessStream', { channel_type: 'LOG_CHANNEL_TYPE_STDOUT', process_id: started.pid })
    expect(item).toMatchObject({ channel: 'greeter::stdout', line: 'hello from 65534:65534' })
    expect(Math.abs(Number(item.timestamp) - Date.now() / 1000)).toBeLessThan(600)

    const listed = await unary(cells, 'List', {})
    const mine = listed.cells.find((n: any) => n.cell.name === CELL)
    expect(mine).toMatchObject({ cell: { name: CELL }, children: [{ cell: { name: `${CELL}/inner` }, children: [] }] })
    expect([Number(mine.cell.cpu.weight), Number(mine.cell.cpu.max), Number(mine.cell.memory.max)]).toEqual([100, 50000, 64 * 1024 * 1024])

    expect(await unary(cells, 'Stop', { cell_name: CELL, executable_name: 'greeter' })).toEqual({})
    await until('the executable to be gone', () => !existsSync(`/proc/${started.pid as number}`))
    await expect(unary(cells, 'Stop', { cell_name: CELL, executable_name: 'greeter' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })

    expect(cgroupsOfCell()).not.toBe('')
    expect(await unary(cells, 'Free', { cell_name: CELL })).toEqual({})
    expect(cgroupsOfCell()).toBe('')
    expect((await unary(cells, 'List', {})).cells.filter((n: any) => n.cell.name === CELL)).toEqual([])
    await expect(unary(cells, 'Free', { cell_name: CELL })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })
  })

  it('answers discovery and gRPC health, for the node and for the cells service', async () => {
    expect(await unary(over('aurae/discovery/v0/discovery.proto', 'aurae.discovery.v0.DiscoveryService'), 'Discover', {})).toEqual({ healthy: true, version: VERSION })
    const health = over('grpc/health/v1/health.proto', 'grpc.health.v1.Health')
    expect(await unary(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' })
    expect(await unary(health, 'Check', { service: 'aurae.cells.v0.CellService' })).toEqual({ status: 'SERVING' })
    await expect(unary(health, 'Check', { service: 'nope.v1.Nope' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })
    expect(await firstOf(health, 'Watch', { service: 'aurae.observe.v0.ObserveService' })).toEqual({ status: 'SERVING' })
  })

  it('streams the daemon\'s log, says why it does not stream signals, and lists VMs', async () => {
    const items: any[] = []
    const stream = observe.GetAuraeDaemonLogStream({})
    stream.on('data', (item: any) => items.push(item))
    stream.on('error', () => {})
    // The stream gives what the daemon logs from now on; it logs a rename: rename until the open stream has seen one.
    let tries = 0
    const renamed = await until('the stream to see the node renamed', async () => {
      expect((await node.cli(['up', `stdlib-${++tries}`, '--rename', '--key', node.key, '--data', node.data])).code).toBe(0)
      return items.find(i => i.line.includes('node renamed'))
    })
    stream.cancel()
    expect(renamed).toMatchObject({ channel: 'auraed', line: expect.stringMatching(/^INFO:auraed -- node renamed name=stdlib-\d+ /) })
    await expect(firstOf(observe, 'GetPosixSignalsStream', {})).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED, details: expect.stringContaining('eBPF') })
    expect(await unary(over('aurae/vms/v0/vms.proto', 'aurae.vms.v0.VmService'), 'List', {})).toEqual({ machines: [] })
  })
})
