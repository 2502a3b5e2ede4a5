import { describe, expect, it } from 'vitest'
import { assertPortsFree } from '../../src/runtime/published-ports.ts'
import { createdRecord, type ContainerSpec, type WorkloadRecord, type WorkloadState } from '../../src/runtime/workload.ts'

type Port = ContainerSpec['container']['ports'][number]

function container (name: string, ports: Array<Partial<Port>>, state: WorkloadState = 'running'): WorkloadRecord {
  const spec: ContainerSpec = {
    kind: 'container',
    name,
    limits: { cpus: 0, memoryBytes: 0, pids: 0 },
    restart: 'no',
    cell: '',
    command: [],
    env: {},
    workdir: '',
    container: { image: 'redis', user: '', network: 'bridge', volumes: [], ports: ports.map(p => ({ hostPort: 6379, containerPort: 6379, protocol: 'tcp', hostIP: '', ...p })) }
  }
  return { ...createdRecord(spec), state }
}

describe('host ports one workload at a time', () => {
  it('refuses a port a workload that has not exited publishes, on any address that covers the other', () => {
    const first = container('first', [{}])
    expect(() => assertPortsFree(container('b', [{}]).spec, [first])).toThrow('Bind for 0.0.0.0:6379/tcp failed: port is already allocated (published by first)')
    expect(() => assertPortsFree(container('b', [{ hostIP: '127.0.0.1' }]).spec, [first])).toThrow(/already allocated/)
    expect(() => assertPortsFree(container('b', [{}]).spec, [container('first', [{ hostIP: '10.0.0.1' }], 'restarting')])).toThrow(/already allocated/)
  })

  it('lets another protocol, another address, an exited workload and the workload itself have it', () => {
    expect(() => assertPortsFree(container('b', [{ protocol: 'udp' }]).spec, [container('first', [{}])])).not.toThrow()
    expect(() => assertPortsFree(container('b', [{ hostIP: '127.0.0.1' }]).spec, [container('first', [{ hostIP: '127.0.0.2' }])])).not.toThrow()
    expect(() => assertPortsFree(container('b', [{}]).spec, [container('first', [{}], 'exited')])).not.toThrow()
    expect(() => assertPortsFree(container('first', [{}]).spec, [container('first', [{}])])).not.toThrow()
  })
})
