import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../../src/errors.ts'
import { defaultContainerName, restartFromProto, specFromProto, stopTimeoutMs, workloadToProto } from '../../../src/node/api/convert.ts'
import { createdRecord } from '../../../src/runtime/workload.ts'

// A spec as a client sends it, with the fields the generated message always has.
const spec = (o: Record<string, any> = {}): any => ({
  name: '',
  executable: { command: ['echo', 'hi'], env: {}, workdir: '', volumes: [] },
  limits: undefined,
  restart: '',
  cell: '',
  container: undefined,
  vm: undefined,
  ...o
})
const container = (o: Record<string, any> = {}): any => ({ image: 'nginx', network: '', ports: [], volumes: [], user: '', seccomp: '', entrypoint: [], replaceEntrypoint: false, command: [], env: {}, workdir: '', stopSignal: '', stopTimeout: undefined, ...o })
/** The message of the InvalidArgumentError `fn` throws. */
const refusal = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.message
    throw err
  }
  throw new Error('not refused')
}

describe('a workload spec from a client', () => {
  it('comes back the same after a round trip through the proto, for every kind', () => {
    const exe = specFromProto(spec({ name: 'job', executable: { command: ['sh', '-c', 'true'], env: { A: '1' }, workdir: '/tmp', volumes: [{ host: '/tmp', container: '/data', readOnly: true }] }, restart: 'always' }))
    const ctr = specFromProto(spec({ name: 'web', executable: undefined, container: container({ image: 'nginx:1', command: ['nginx', '-g', 'daemon off;'], env: { B: '2' }, workdir: '/srv', entrypoint: ['/init'], replaceEntrypoint: true, stopSignal: 'quit', stopTimeout: 30 }) }))
    expect(ctr).toMatchObject({ kind: 'container', command: ['nginx', '-g', 'daemon off;'], env: { B: '2' }, workdir: '/srv', container: { image: 'docker.io/library/nginx:1', entrypoint: ['/init'], stopSignal: 'SIGQUIT', stopTimeout: 30 } })
    const vm = specFromProto(spec({ name: 'guest', executable: undefined, vm: container({ image: 'busybox', command: ['sh'], volumes: [{ host: '/tmp', container: '/data', readOnly: false }] }), limits: { cpus: 2, memoryBytes: 256 * 2 ** 20, pids: 0 } }))
    expect(vm).toMatchObject({ kind: 'vm', command: ['sh'], container: { image: 'docker.io/library/busybox:latest', network: 'bridge' } })
    for (const s of [exe, ctr, vm]) {
      const msg = workloadToProto(createdRecord(s)).spec
      expect(msg?.[s.kind]).toBeDefined()
      expect(specFromProto(msg)).toEqual(s)
    }
  })


  it('defaults to an executable with a generated name, no limits and no restarts', () => {
    const s = specFromProto(spec())
    expect(s).toMatchObject({ kind: 'executable', command: ['echo', 'hi'], restart: 'no', limits: { cpus: 0, memoryBytes: 0, pids: 0 }, cell: '' })
    expect(s.name).toMatch(/^exec-[0-9a-f]{1,6}$/)
  })

  it('names a container after its image, and resolves the image reference', () => {
    const s = specFromProto(spec({ executable: undefined, container: container({ image: 'docker.io/library/redis:7' }) }))
    expect(s.name).toBe('redis')
    expect(s.container).toMatchObject({ image: 'docker.io/library/redis:7', network: 'bridge', ports: [], volumes: [] })
    expect(defaultContainerName('registry.example.org:5000/team/web@sha256:' + 'a'.repeat(64))).toBe('web')
  })

  it('refuses, with one line each, what can never be valid', () => {
    expect(refusal(() => specFromProto(undefined))).toBe('missing workload spec')
    // A kind this node does not know (a newer client's) reads as no kind at all.
    expect(refusal(() => specFromProto(spec({ executable: undefined })))).toBe('the workload spec names no kind this node runs (executables, containers, vms)')
    expect(refusal(() => specFromProto(spec({ container: container() })))).toBe('the workload spec names executable and container: one kind only')
    expect(refusal(() => specFromProto(spec({ executable: { command: [], env: {}, workdir: '', volumes: [] } })))).toMatch(/^missing command/)
    expect(refusal(() => specFromProto(spec({ executable: { command: ['a\0b'], env: {}, workdir: '', volumes: [] } })))).toBe('the command contains a NUL byte')
    expect(refusal(() => specFromProto(spec({ executable: { command: ['x'], env: { 'BAD-KEY': '1' }, workdir: '', volumes: [] } })))).toBe('invalid environment variable name "BAD-KEY"')
    expect(refusal(() => specFromProto(spec({ executable: { command: ['x'], env: {}, workdir: 'relative', volumes: [] } })))).toBe('invalid workdir "relative": it must be an absolute path')
    expect(refusal(() => specFromProto(spec({ name: '../etc' })))).toMatch(/name/)
    expect(refusal(() => specFromProto(spec({ restart: 'sometimes' })))).toBe('invalid restart policy "sometimes": expected no, on-failure, always')
    expect(refusal(() => specFromProto(spec({ executable: { command: ['x'], env: {}, workdir: '', volumes: [{ host: '/nonexistent-aurae-test', container: '/data', readOnly: false }] } })))).toBe('volume source /nonexistent-aurae-test does not exist')
    expect(refusal(() => specFromProto(spec({ executable: { command: ['x'], env: {}, workdir: '', volumes: [{ host: 'tmp', container: '/data', readOnly: false }] } })))).toMatch(/both sides must be absolute paths/)
  })

  it('refuses container options Docker would refuse', () => {
    const run = (c: Record<string, any>): string => refusal(() => specFromProto(spec({ executable: undefined, container: container(c) })))
    expect(run({ image: '' })).toBe('missing image: aurae run IMAGE')
    expect(run({ network: 'overlay' })).toBe('invalid --net "overlay": expected bridge, host or none')
    expect(run({ ports: [{ hostPort: 0, containerPort: 80, protocol: '', hostIp: '' }] })).toBe('invalid port 0:80')
    expect(run({ ports: [{ hostPort: 8080, containerPort: 80, protocol: 'sctp', hostIp: '' }] })).toBe('invalid protocol "sctp": expected tcp or udp')
    expect(run({ network: 'host', ports: [{ hostPort: 8080, containerPort: 80, protocol: '', hostIp: '' }] })).toBe('-p works with bridge networking only')
    expect(run({ user: 'root;rm' })).toBe('invalid --user "root;rm"')
    expect(run({ seccomp: 'weird' })).toBe('invalid seccomp option "weird": expected unconfined')
    expect(run({ stopSignal: 'SIGNOPE' })).toBe('invalid --stop-signal "SIGNOPE": expected a signal such as SIGINT')
    expect(run({ stopTimeout: 3601 })).toBe('invalid --stop-timeout 3601: at most 3600 seconds')
  })

  it('refuses for a VM what a VM does not have, and a memory limit too small for any workload', () => {
    const vm = (c: Record<string, any>, o: Record<string, any> = {}): string => refusal(() => specFromProto(spec({ executable: undefined, vm: container(c), ...o })))
    expect(vm({ network: 'host' })).toBe('--net host does not apply to a VM (--vm)')
    expect(vm({ network: 'none', ports: [{ hostPort: 8080, containerPort: 80, protocol: '', hostIp: '' }] })).toBe('-p works with bridge networking only')
    expect(vm({ seccomp: 'unconfined' })).toBe('--security-opt seccomp does not apply to a VM (--vm)')
    expect(vm({ tty: true })).toBe('-t does not apply to a VM (--vm)')
    expect(vm({ interactive: true })).toBe('-i does not apply to a VM (--vm)')
    expect(vm({}, { cell: 'tenant' })).toBe('a VM is a cell of its own: --cell does not apply to --vm')
    expect(vm({}, { limits: { cpus: 0, memoryBytes: 2 ** 20, pids: 0 } })).toBe('--memory 1M is below the least a VM\'s workload may have: 6M')
  })
})

describe('the small conversions', () => {
  it('leave a stop\'s timeout to the workload when unset, none when asked, and never more than an hour', () => {
    expect(stopTimeoutMs(undefined)).toBeUndefined()
    expect(stopTimeoutMs(0)).toBe(0)
    expect(stopTimeoutMs(86_400)).toBe(3_600_000)
  })

  it('read an empty restart policy as no', () => {
    expect(restartFromProto('')).toBe('no')
    expect(restartFromProto('on-failure')).toBe('on-failure')
  })
})
