// A running VM as `vm ls` shows its machine and `stats` what its qemu uses on the host (its cgroup there, held to
// --cpus), and as `exec` shows the guest from inside: the workload's limits are the guest's cgroup's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, VM_BOOT_MS, type TestNode } from '../helpers/node.ts'
import { busyboxLayer, pushImage, startRegistry } from '../helpers/registry.ts'

describe('VMs show their machines and what they use', () => {
  let node: TestNode
  let registry: Awaited<ReturnType<typeof startRegistry>>
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'vmls', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    node = await startNode('vm-ls')
    const res = await node.cli(['run', '--vm', `${registry.host}/vmls`, '-d', '--name', 'small', '--cpus', '1', '--memory', '64M', '--pids', '20', '--', 'sh', '-c', 'echo up; while true; do i=$((i+1)); done'])
    expect(res).toEqual({ code: 0, stdout: 'small\n', stderr: '' })
    await until('it to run', async () => (await node.cli(['logs', 'small'])).stdout === 'up\n', VM_BOOT_MS)
  }, VM_BOOT_MS + 60_000)
  afterAll(async () => {
    await node?.stop()
    await registry?.stop()
  })

  it('lists it with its vCPUs, its memory (the workload\'s and the guest\'s own) and its accelerator', async () => {
    const [vm] = JSON.parse((await node.cli(['vm', 'ls', '--json'])).stdout)
    expect(vm).toMatchObject({ name: 'small', kind: 'vm', state: 'running', vcpus: 1, memoryMb: 64 + 128, boot: 'cold' })
    // The address the node's bridge gave it.
    expect(vm.address).toMatch(/^10\.\d+\.\d+\.\d+$/)
    expect(['kvm', 'tcg']).toContain(vm.accel)
    const table = (await node.cli(['vm', 'ls'])).stdout.split('\n')
    expect(table[0].split(/\s+/)).toEqual(['NAME', 'STATE', 'VCPUS', 'MEMORY', 'ACCEL', 'BOOT', 'UPTIME', 'ADDRESS'])
    expect(table[1].split(/\s+/).filter(Boolean)).toEqual(['small', 'running', '1', '192M', vm.accel, 'cold', expect.stringMatching(/^\d+s$/), vm.address])
  })

  it('shows in stats the CPU, memory and processes of its qemu on the host', async () => {
    const [small] = JSON.parse((await node.cli(['stats', '--no-stream', '--json'])).stdout)
    // The guest spins: qemu emulates it on a host CPU.
    expect(small).toMatchObject({ name: 'small' })
    expect(small.cpuPercent).toBeGreaterThan(0)
    expect(small.memoryBytes).toBeGreaterThan(64 * 2 ** 20)
    // The shell that started it, qemu, and the image's virtiofsd.
    expect(small.pids).toBeGreaterThanOrEqual(3)
  })

  it('holds the workload to its limits inside the guest, in a cgroup of its own', async () => {
    const inside = await node.cli(['exec', 'small', '--', 'sh', '-c', 'cat /proc/self/cgroup; cat /sys/fs/cgroup/workload/memory.max /sys/fs/cgroup/workload/pids.max'])
    expect(inside).toEqual({ code: 0, stdout: `0::/workload\n${64 * 2 ** 20}\n20\n`, stderr: '' })
    expect((await node.cli(['stop', 'small', '--timeout', '0'])).code).toBe(0)
    expect(JSON.parse((await node.cli(['vm', 'ls', '--json'])).stdout)).toEqual([])
  })
})
