import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { connect as connectNet, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLOSING, encodeFrame, frameSocketOf, framesOf, MESSAGE } from '../../src/common/call-frames.ts'
import { connect, FailedPreconditionError, NotFoundError } from '../../src/client/index.ts'
import { RpcRequest, RpcResponse } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { WorkloadServiceListRequest, WorkloadServiceService } from '../../src/gen/aurae/workloads/v0/workloads.ts'
import { status as Status } from '../../src/grpc-status.ts'
import { startNode, until, type TestNode } from '../helpers/node.ts'

/** What the frame socket answers to `frames` sent raw: each response body, the status, or that it closed without one. */
async function raw (path: string, frames: Buffer[]): Promise<{ messages: Buffer[], status?: RpcResponse }> {
  const socket: Socket = connectNet(path)
  socket.on('error', () => {})
  for (const f of frames) socket.write(f)
  const messages: Buffer[] = []
  try {
    for await (const frame of framesOf(socket, 64 * 1024 * 1024)) {
      if (frame.flag === CLOSING) return { messages, status: RpcResponse.decode(frame.body) }
      messages.push(frame.body)
    }
    return { messages }
  } finally {
    socket.destroy()
  }
}

const request = (method: string, payload: Uint8Array): Buffer => encodeFrame(MESSAGE, RpcRequest.encode({ method, payload, callerName: '', window: 0 }).finish())
const LIST = WorkloadServiceService.list.path

describe('the node serves local calls on an owner-only frame socket, and the CLI takes it without loading HTTP/2', () => {
  let node: TestNode
  let bare: TestNode
  const scratch = mkdtempSync(join(tmpdir(), 'aurae-frames-'))
  beforeAll(async () => {
    ;[node, bare] = await Promise.all([startNode('frames'), startNode(null)])
  })
  afterAll(async () => {
    await Promise.all([node?.stop(), bare?.stop()])
    rmSync(scratch, { recursive: true, force: true })
  })

  it('puts the frame socket beside the gRPC socket, mode 0600, and the CLI runs a command through it with no node:http2', async () => {
    const st = lstatSync(frameSocketOf(node.sock))
    expect(st.isSocket()).toBe(true)
    expect(st.mode & 0o777).toBe(0o600)
    const hook = join(scratch, 'modules.mjs')
    const out = join(scratch, 'modules.txt')
    writeFileSync(hook, `process.on('exit', () => process.getBuiltinModule('node:fs').writeFileSync(${JSON.stringify(out)}, process.moduleLoadList.join('\\n')))\n`)
    const res = await node.cli(['exec', 'said', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { env: { NODE_OPTIONS: `--import=${hook}` } })
    expect(res).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' })
    const loaded = readFileSync(out, 'utf8').split('\n')
    expect(loaded).toContain('NativeModule net')
    expect(loaded).not.toContain('NativeModule http2')
    expect((await node.cli(['ps', '-a'])).stdout).toMatch(/said\s+executable/)
  })

  it('gives the same answers over HTTP/2 to a client that finds no frame socket', async () => {
    const alias = join(scratch, 'alias.sock')
    symlinkSync(node.sock, alias)
    const client = connect({ socket: alias })
    try {
      expect(await client.node.status()).toMatchObject({ state: 'running', name: 'frames' })
      expect((await client.workloads.list({ all: true })).workloads.map(w => w.name)).toContain('said')
      await expect(client.workloads.inspect({ name: 'nothing-here' })).rejects.toThrow(NotFoundError)
    } finally {
      client.close()
    }
  })

  it('goes over HTTP/2 when the frame socket takes no connection, losing nothing of the call', async () => {
    // A socket file nothing listens on any more: connecting to it is refused.
    const dir = mkdtempSync(join(scratch, 'refusing-'))
    const alias = join(dir, 'aurae.sock')
    symlinkSync(node.sock, alias)
    expect(spawnSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', frameSocketOf(alias)]).status).toBe(0)
    expect(lstatSync(frameSocketOf(alias)).isSocket()).toBe(true)
    const client = connect({ socket: alias })
    try {
      expect(await client.node.status()).toMatchObject({ state: 'running', name: 'frames' })
    } finally {
      client.close()
    }
    const res = await node.cli(['--sock', alias, 'exec', '--', 'sh', '-c', 'echo through http2; exit 4'])
    expect(res).toEqual({ code: 4, stdout: 'through http2\n', stderr: '' })
  })

  it('authorizes as the gRPC socket does, failing closed: before up only what says so is served', async () => {
    const client = connect({ socket: bare.sock })
    try {
      expect((await client.node.status()).state).toBe('uninitialized')
      await expect(client.workloads.list()).rejects.toThrow(FailedPreconditionError)
    } finally {
      client.close()
    }
    const { status } = await raw(frameSocketOf(bare.sock), [request(LIST, WorkloadServiceListRequest.encode(WorkloadServiceListRequest.fromPartial({})).finish())])
    expect(status?.code).toBe(Status.FAILED_PRECONDITION)
  })

  it('answers unknown methods and malformed requests with a status, drops oversized or garbled frames, and serves on', async () => {
    const path = frameSocketOf(node.sock)
    expect((await raw(path, [request('/aurae.nothing.v0.Nothing/Call', Buffer.alloc(0))])).status?.code).toBe(Status.NOT_FOUND)
    expect((await raw(path, [request(LIST, Buffer.from([0xff, 0xff, 0xff]))])).status?.code).toBe(Status.INVALID_ARGUMENT)
    expect((await raw(path, [encodeFrame(MESSAGE, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]))])).status?.code).toBe(Status.INVALID_ARGUMENT)
    expect((await raw(path, [encodeFrame(CLOSING, Buffer.alloc(0))])).status?.code).toBe(Status.INVALID_ARGUMENT)
    const oversized = Buffer.alloc(5)
    oversized.writeUInt32BE(0xffffffff, 1)
    expect(await raw(path, [oversized, Buffer.alloc(65536)])).toEqual({ messages: [] })
    const list = await raw(path, [request(LIST, WorkloadServiceListRequest.encode(WorkloadServiceListRequest.fromPartial({})).finish())])
    expect(list.status?.code).toBe(Status.OK)
    expect(list.messages).toHaveLength(1)
    expect((await node.cli(['status'])).code).toBe(0)
  })

  it('goes with the daemon: down removes both sockets', async () => {
    const extra = await startNode('gone')
    try {
      expect(lstatSync(frameSocketOf(extra.sock)).isSocket()).toBe(true)
      expect((await extra.cli(['down'])).code).toBe(0)
      await until('both sockets to go', () => [extra.sock, frameSocketOf(extra.sock)].every(p => lstatSync(p, { throwIfNoEntry: false }) === undefined))
    } finally {
      await extra.stop()
    }
  })
})
