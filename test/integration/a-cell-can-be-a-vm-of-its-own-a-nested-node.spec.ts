// A cell with --isolation vm is a micro-VM whose guest runs this project's auraed (a real VM under qemu, software
// emulation): a nested node named after the cell, trusted by its host without a token, so `job@CELL` and `exec --cell
// CELL` run there as on a peer, in the guest's kernel; freeing the cell stops the VM and withdraws the trust.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RpcRequest, RpcResponse } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { WorkloadServiceListRequest } from '../../src/gen/aurae/workloads/v0/workloads.ts'
import { loadKey } from '../../src/mesh/keys.ts'
import { RPC_PROTOCOL } from '../../src/mesh/rpc.ts'
import { startNode, type TestNode } from '../helpers/node.ts'

describe('a cell can be a VM of its own: a nested node', () => {
  let node: TestNode
  beforeAll(async () => {
    node = await startNode('host@example.org')
  })
  afterAll(async () => {
    await node?.stop()
  })

  const leftovers = (): string[] => spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter(l => /qemu-system|virtiofsd/.test(l) && l.includes(node.data))
  const hostKernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout

  it('boots the cell\'s VM with its auraed up as CELL@DOMAIN, and runs workloads there by NAME@CELL and --cell', async () => {
    const made = await node.cli(['cell', 'allocate', 'tenant-a', '--isolation', 'vm', '--memory', '512M'])
    expect(made).toEqual({ code: 0, stdout: 'tenant-a\n', stderr: '' })
    expect(JSON.parse((await node.cli(['cell', 'ls', '--json'])).stdout)).toMatchObject([{ name: 'tenant-a', isolation: 'vm' }])
    expect(JSON.parse((await node.cli(['vm', 'ls', '--json'])).stdout)).toMatchObject([{ name: 'tenant-a', state: 'running' }])
    expect(JSON.parse((await node.cli(['peer', 'ls', '--json'])).stdout)).toMatchObject([{ name: 'tenant-a', domain: 'example.org', connected: true, nested: true }])

    // In the guest: its kernel, its hostname, aurae-init its PID 1.
    const job = await node.cli(['exec', 'job@tenant-a', '--', 'sh', '-c', 'uname -r; hostname; cat /proc/1/comm; exit 3'])
    expect(job.code).toBe(3)
    const [kernel, hostname, init] = job.stdout.split('\n')
    expect(kernel).toMatch(/-cloud-amd64$/)
    expect(`${kernel}\n`).not.toBe(hostKernel)
    expect({ hostname, init }).toEqual({ hostname: 'tenant-a', init: 'init' })
    const web = await node.cli(['exec', '--cell', 'tenant-a', 'web', '--', 'sh', '-c', 'echo in $(hostname)'])
    expect(web).toEqual({ code: 0, stdout: 'in tenant-a\n', stderr: '' })
    const inside = JSON.parse((await node.cli(['ps', '--all', '--json', '@tenant-a'])).stdout) as Array<{ name: string }>
    expect(inside.map(w => w.name).sort()).toEqual(['job', 'web'])
    // The host's own workloads are the VM alone: nothing ran here.
    expect(JSON.parse((await node.cli(['ps', '--all', '--json'])).stdout).map((w: { name: string }) => w.name)).toEqual(['tenant-a'])
    expect((await node.cli(['cell', 'allocate', 'tenant-a'])).code).not.toBe(0)
  }, 240_000)

  it('serves no call from the nested node: its guest is called into, never trusted to call its host', async () => {
    // The guest's own key (its host keeps it) dialling the host, as a guest that stole it from its auraed would.
    const key = await loadKey(join(node.data, 'nested', 'tenant-a', 'id_aura'))
    expect(key).toBeDefined()
    const guest = await createLibp2p({ privateKey: key?.privateKey, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: () => false } })
    try {
      const addr = JSON.parse((await node.cli(['status', '--json'])).stdout).mesh.addrs[0]
      const stream = await guest.dialProtocol(multiaddr(addr), RPC_PROTOCOL)
      const list = WorkloadServiceListRequest.encode({ all: true, peer: '' }).finish()
      await lpStream(stream).write(RpcRequest.encode({ method: '/aurae.workloads.v0.WorkloadService/List', payload: Buffer.from(list), callerName: 'tenant-a', window: 0 }).finish())
      const res = RpcResponse.decode((await lpStream(stream).read({ signal: AbortSignal.timeout(10_000) })).subarray())
      expect(res).toMatchObject({ end: true, code: 7 })
    } finally {
      await guest.stop()
    }
  })

  it('frees the cell: the VM stops and the host no longer trusts or reaches it', async () => {
    expect(await node.cli(['cell', 'free', 'tenant-a'])).toEqual({ code: 0, stdout: 'tenant-a\n', stderr: '' })
    expect(JSON.parse((await node.cli(['cell', 'ls', '--json'])).stdout)).toEqual([])
    expect(JSON.parse((await node.cli(['ps', '--all', '--json'])).stdout)).toEqual([])
    expect(JSON.parse((await node.cli(['peer', 'ls', '--json'])).stdout)).toEqual([])
    expect(leftovers()).toEqual([])
    const gone = await node.cli(['exec', 'job@tenant-a', '--', 'true'])
    expect(gone.code).toBe(125)
    expect(gone.stderr.split('\n')).toHaveLength(2)
  }, 120_000)
})
