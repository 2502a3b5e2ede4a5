import { describe, expect, it } from 'vitest'
import { DEFAULT_CAPABILITIES, execProcess, ociConfig, processArgs, resolveUser, type ContainerOptions } from '../../../src/runtime/container/oci-config.ts'

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999::/data:/bin/false\nnobody:x:65534:65534::/:/bin/false\n'
const GROUP = 'root:x:0:\ntty:x:5:\nredis:x:999:\n'
const options = (o: Partial<ContainerOptions> = {}): ContainerOptions => ({
  name: 'web',
  command: [],
  env: {},
  workdir: '',
  user: '',
  volumes: [],
  network: { mode: 'none' },
  limits: { cpus: 0, memoryBytes: 0, pids: 0 },
  cgroupsPath: '/aurae/n/ct-web',
  etcFiles: { hosts: '/run/x/hosts', hostname: '/run/x/hostname', resolvConf: '/run/x/resolv.conf' },
  seccomp: true,
  ...o
})
const config = (image: object, o: Partial<ContainerOptions> = {}): any => ociConfig({ Cmd: ['nginx'], ...image }, options(o), { uid: 0, gid: 0 })

describe('a container\'s process, as Docker makes it from the image', () => {
  it('runs Entrypoint then Cmd; a command replaces Cmd; a new entrypoint drops Cmd', () => {
    const image = { Entrypoint: ['/entry.sh'], Cmd: ['postgres'] }
    expect(processArgs(image, { command: [] })).toEqual(['/entry.sh', 'postgres'])
    expect(processArgs(image, { command: ['postgres', '-c', 'x=1'] })).toEqual(['/entry.sh', 'postgres', '-c', 'x=1'])
    expect(processArgs(image, { command: [], entrypoint: ['sh'] })).toEqual(['sh'])
    expect(processArgs(image, { command: ['-c', 'id'], entrypoint: ['sh'] })).toEqual(['sh', '-c', 'id'])
    expect(() => processArgs({ Entrypoint: null, Cmd: null }, { command: [] })).toThrow('the image has no command; give one after --')
  })

  it('finds users and groups by name or number in the image\'s own files', () => {
    expect(resolveUser('', PASSWD, GROUP)).toEqual({ uid: 0, gid: 0 })
    expect(resolveUser('redis', PASSWD, GROUP)).toEqual({ uid: 999, gid: 999 })
    expect(resolveUser('redis:tty', PASSWD, GROUP)).toEqual({ uid: 999, gid: 5 })
    expect(resolveUser('999', PASSWD, GROUP)).toEqual({ uid: 999, gid: 999 })
    expect(resolveUser('1000:1001', PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1001 })
    expect(() => resolveUser('mallory', PASSWD, GROUP)).toThrow('unknown user "mallory" in the image')
    expect(() => resolveUser('redis:wheel', PASSWD, GROUP)).toThrow('unknown group "wheel" in the image')
  })

  it('gives the image\'s environment over the default PATH, and the user\'s over both', () => {
    const env = config({ Env: ['PATH=/opt/bin', 'LANG=C'] }, { env: { LANG: 'C.UTF-8', EXTRA: '1' } }).process.env
    expect(env).toEqual(['PATH=/opt/bin', 'LANG=C.UTF-8', 'HOSTNAME=web', 'EXTRA=1'])
    expect(config({}).process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=web'])
  })

  it('works in the user\'s directory, else the image\'s, else /', () => {
    expect(config({ WorkingDir: '/srv' }, { workdir: '/tmp' }).process.cwd).toBe('/tmp')
    expect(config({ WorkingDir: '/srv' }).process.cwd).toBe('/srv')
    expect(config({}).process.cwd).toBe('/')
  })

  it('runs exec -t as the container\'s own process, on a terminal of the caller\'s size from its start, TERM=xterm unless set', () => {
    const own = config({ Env: ['LANG=C'], WorkingDir: '/srv' }, { env: { MODE: 'x' } }).process
    const entered = execProcess(own, { command: ['sh'], env: { MODE: 'y' }, workdir: '', size: { rows: 30, cols: 100 } })
    expect(entered).toEqual({ ...own, terminal: true, consoleSize: { height: 30, width: 100 }, args: ['sh'], env: ['TERM=xterm', ...own.env.map(kv => kv === 'MODE=x' ? 'MODE=y' : kv)] })
    const elsewhere = execProcess({ ...own, env: ['TERM=vt100'] }, { command: ['ls'], env: {}, workdir: '/tmp' })
    expect(elsewhere).toMatchObject({ env: ['TERM=vt100'], cwd: '/tmp', consoleSize: { height: 24, width: 80 } })
  })
})

describe('a container\'s confinement, as Docker\'s', () => {
  it('holds Docker\'s default capabilities only, never gains privileges, and has the seccomp filter unless unconfined', () => {
    const c = config({})
    expect(c.process.capabilities).toEqual({ bounding: DEFAULT_CAPABILITIES, effective: DEFAULT_CAPABILITIES, permitted: DEFAULT_CAPABILITIES })
    expect(DEFAULT_CAPABILITIES).not.toContain('CAP_SYS_ADMIN')
    expect(DEFAULT_CAPABILITIES).toHaveLength(14)
    expect(c.process.noNewPrivileges).toBe(true)
    expect(c.linux.seccomp.defaultAction).toBeDefined()
    expect(config({}, { seccomp: false }).linux.seccomp).toBeUndefined()
  })

  it('mounts sysfs and its cgroups read-only, and masks and freezes the kernel\'s sensitive files', () => {
    const c = config({})
    const mount = (d: string): any => c.mounts.find((m: any) => m.destination === d)
    expect(mount('/sys').options).toContain('ro')
    expect(mount('/sys/fs/cgroup').options).toContain('ro')
    expect(mount('/etc/hosts')).toEqual({ destination: '/etc/hosts', type: 'bind', source: '/run/x/hosts', options: ['rbind', 'ro'] })
    expect(c.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware']))
    expect(c.linux.readonlyPaths).toEqual(expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger', '/sys/fs/cgroup']))
  })

  it('binds volumes read-only all the way down when asked, and keeps namespaces by network mode', () => {
    const c = config({}, { volumes: [{ host: '/srv/data', container: '/data', readOnly: true }, { host: '/srv/rw', container: '/rw', readOnly: false }] })
    expect(c.mounts.filter((m: any) => m.destination === '/data' || m.destination === '/rw').map((m: any) => m.options)).toEqual([['rbind', 'rro'], ['rbind', 'rw']])
    const types = (o: Partial<ContainerOptions>): string[] => config({}, o).linux.namespaces.map((n: any) => n.path === undefined ? n.type : `${n.type}:${n.path}`)
    expect(types({ network: { mode: 'none' } })).toEqual(['pid', 'ipc', 'uts', 'mount', 'network'])
    expect(types({ network: { mode: 'host' } })).toEqual(['pid', 'ipc', 'uts', 'mount'])
    expect(types({ network: { mode: 'path', path: '/run/netns/x' } })).toEqual(['pid', 'ipc', 'uts', 'mount', 'network:/run/netns/x'])
  })

  it('turns limits into the runtime\'s resources, and leaves out what is unlimited', () => {
    expect(config({}).linux.resources).toEqual({})
    expect(config({}, { limits: { cpus: 0.5, memoryBytes: 64 * 2 ** 20, pids: 100 } }).linux.resources).toEqual({
      cpu: { quota: 50_000, period: 100_000 },
      memory: { limit: 64 * 2 ** 20, swap: 64 * 2 ** 20 },
      pids: { limit: 100 }
    })
  })
})
