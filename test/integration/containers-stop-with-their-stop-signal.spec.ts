import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

// As postgres: StopSignal SIGINT, a user of its own, and a process that shuts down cleanly only on SIGINT (SIGTERM
// waits for clients that never leave, so the stop ends in SIGKILL and crash recovery).
const SERVER = 'trap "echo fast shutdown; exit 0" INT; trap "echo smart shutdown requested" TERM; echo ready; while :; do sleep 0.1; done'

describe('containers stop with their stop signal', () => {
  let registry: TestRegistry
  let node: TestNode
  let image: string
  const logs = async (name: string): Promise<string> => (await node.cli(['logs', name])).stdout
  const started = async (name: string, args: string[]): Promise<void> => {
    expect((await node.cli(['run', image, '--name', name, '-d', ...args])).code).toBe(0)
    await until(`${name} to be ready`, async () => (await logs(name)).includes('ready\n'))
  }
  beforeAll(async () => {
    registry = await startRegistry()
    image = `${registry.host}/postgres`
    const users = [{ name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/sh\n' }, { name: 'etc/group', body: 'root:x:0:\npostgres:x:999:\n' }]
    await pushImage(registry.host, 'postgres', 'latest', [await busyboxLayer(users)], {
      config: { User: 'postgres', Env: ['PATH=/bin'], Cmd: ['sh', '-c', SERVER], StopSignal: 'SIGINT', Volumes: { '/var/lib/postgresql/data': {} } }
    })
    node = await startNode('stops')
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  const inspected = async (name: string): Promise<{ stopSignal: string, stopTimeout: number }> => JSON.parse((await node.cli(['inspect', name])).stdout)[0]

  it('stops with the image\'s StopSignal, and the process ends cleanly', async () => {
    await started('pg', [])
    expect(await inspected('pg')).toMatchObject({ stopSignal: 'SIGINT', stopTimeout: 10 })
    expect(await node.cli(['stop', 'pg'])).toMatchObject({ code: 0, stderr: '' })
    expect(await workload(node, 'pg')).toMatchObject({ state: 'exited', exitCode: 0 })
    expect(await logs('pg')).toBe('ready\nfast shutdown\n')
  })

  it('takes --stop-signal over the image\'s', async () => {
    await started('pg-term', ['--stop-signal', 'TERM', '--stop-timeout', '30'])
    expect(await inspected('pg-term')).toMatchObject({ stopSignal: 'SIGTERM', stopTimeout: 30 })
    expect((await node.cli(['stop', 'pg-term', '--timeout', '1'])).code).toBe(0)
    expect(await logs('pg-term')).toContain('smart shutdown requested\n')
    expect(await workload(node, 'pg-term')).toMatchObject({ state: 'exited', exitCode: 137 })
  })

  it('waits --stop-timeout when a stop names no timeout: 0 kills at once, without the stop signal', async () => {
    await started('pg-now', ['--stop-timeout', '0'])
    expect((await node.cli(['stop', 'pg-now'])).code).toBe(0)
    expect(await workload(node, 'pg-now')).toMatchObject({ state: 'exited', exitCode: 137 })
    expect(await logs('pg-now')).toBe('ready\n')
  })

  it('refuses a signal that does not exist, in one line with the usage exit code', async () => {
    const res = await node.cli(['run', image, '--name', 'bad', '-d', '--stop-signal', 'SIGNOPE'])
    expect(res).toEqual({ code: 2, stdout: '', stderr: 'aurae: invalid --stop-signal "SIGNOPE": expected a signal such as SIGINT\n' })
    expect(await workload(node, 'bad')).toBeUndefined()
  })

  it('stops with the StopSignal when the node goes down', async () => {
    await started('pg-down', [])
    expect((await node.cli(['down'])).code).toBe(0)
    expect((await node.up()).code).toBe(0)
    expect(await workload(node, 'pg-down')).toMatchObject({ state: 'exited', exitCode: 0 })
    expect(await logs('pg-down')).toBe('ready\nfast shutdown\n')
  })
})
