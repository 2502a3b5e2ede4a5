import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peeredPair, type PeeredPair } from '../helpers/peered-pair.ts'
import { until, VM_BOOT_MS, workload, type TestNode } from '../helpers/node.ts'
import { busyboxLayer, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'

// alice runs a VM on emily, two hosts in their own network namespaces: the VM is emily's workload, driven from alice.
describe('VMs run on a peer', () => {
  let registry: TestRegistry
  let pair: PeeredPair | undefined
  let alice: TestNode
  let emily: TestNode
  beforeAll(async () => {
    registry = await startRegistry()
    await pushImage(registry.host, 'vmpeer', 'latest', [await busyboxLayer()], { config: { Env: ['PATH=/bin'] } })
    pair = await peeredPair(registry)
    ;({ alice, emily } = pair)
  })
  afterAll(async () => {
    try {
      await pair?.stop()
    } finally {
      registry?.stop()
    }
  })

  it('runs attached and detached on emily from alice: output, exit code, exec, vm ls, stop and rm by NAME@emily', async () => {
    const image = `${pair?.inside.host ?? ''}/vmpeer`
    const attached = await alice.cli(['run', '--vm', `${image}@emily`, '--name', 'once', '--', 'sh', '-c', 'uname -s; echo err >&2; exit 3'])
    expect(attached).toEqual({ code: 3, stdout: 'Linux\n', stderr: 'err\n' })
    expect(await workload(emily, 'once')).toMatchObject({ kind: 'vm', state: 'exited', exitCode: 3 })
    expect(await workload(alice, 'once')).toBeUndefined()

    expect(await alice.cli(['run', '--vm', `${image}@emily`, '-d', '--name', 'job', '--', 'sh', '-c', 'echo up; while true; do sleep 1; done'])).toEqual({ code: 0, stdout: 'job\n', stderr: '' })
    await until('it to run', async () => (await alice.cli(['logs', 'job@emily'])).stdout === 'up\n', VM_BOOT_MS)
    expect(await alice.cli(['exec', 'job@emily', '--', 'sh', '-c', 'hostname; exit 5'])).toEqual({ code: 5, stdout: 'job\n', stderr: '' })
    expect(JSON.parse((await alice.cli(['vm', 'ls', '@emily', '--json'])).stdout).map((v: any) => [v.name, v.state])).toEqual([['job', 'running']])
    expect((await alice.cli(['stop', 'job@emily'])).code).toBe(0)
    expect(await workload(emily, 'job')).toMatchObject({ state: 'exited' })
    expect((await alice.cli(['rm', 'job@emily'])).code).toBe(0)
    expect(await workload(emily, 'job')).toBeUndefined()
  }, 2 * VM_BOOT_MS)
})
