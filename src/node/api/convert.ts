// Validation at the edge: proto messages in, typed domain values out (and back).
import { InvalidArgumentError } from '../../errors.ts'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import type { Container as ContainerMsg, Executable as ExecutableMsg, Exit as ExitMsg, Limits as LimitsMsg, Volume as VolumeMsg, Workload as WorkloadMsg, WorkloadSpec as SpecMsg } from '../../gen/aurae/workloads/v0/workloads.ts'
import { formatImageReference, parseImageReference } from '../../common/image-reference.ts'
import { assertWorkloadName } from '../../names/parse.ts'
import { formatBytes, validateLimits, type Limits } from '../../common/limits.ts'
import { IPV4, isPort } from '../../common/ports.ts'
import { signalName } from '../../common/signals.ts'
import { knownAccel } from '../../runtime/vm/guest-files.ts'
import { guestCpus, vmMemoryMb } from '../../runtime/vm/vm-driver.ts'
import { RESTART_POLICIES, WORKLOAD_KINDS, defaultStopTimeoutMs, type Bind, type ContainerOptions, type ContainerSpec, type RestartPolicy, type VmSpec, type WorkloadRecord, type WorkloadSpec } from '../../runtime/workload.ts'

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
/** The longest grace period a stop takes: an hour. */
const MAX_STOP_TIMEOUT_S = 3600

/** A stop request's grace period: 0 for SIGKILL at once, at most an hour; unset leaves it to the workload's spec. */
export function stopTimeoutMs (seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.min(seconds, MAX_STOP_TIMEOUT_S) * 1000
}

/** A generated name for a workload the user did not name. */
function generatedName (): string {
  return `exec-${Math.random().toString(16).slice(2, 8)}`
}

export function limitsFromProto (msg: LimitsMsg | undefined): Limits {
  return validateLimits({ cpus: msg?.cpus ?? 0, memoryBytes: msg?.memoryBytes ?? 0, pids: msg?.pids ?? 0 })
}

export function restartFromProto (text: string): RestartPolicy {
  const policy = text === '' ? 'no' : text
  if (!RESTART_POLICIES.includes(policy as RestartPolicy)) {
    throw new InvalidArgumentError(`invalid restart policy "${text}": expected ${RESTART_POLICIES.join(', ')}`)
  }
  return policy as RestartPolicy
}

/** Checks a spec from a client: its kind (which member of the proto's `kind` is set), name, process, limits, restart policy. */
export function specFromProto (msg: SpecMsg | undefined): WorkloadSpec {
  if (msg === undefined) throw new InvalidArgumentError('missing workload spec')
  const kinds = WORKLOAD_KINDS.filter(k => msg[k] !== undefined)
  if (kinds.length !== 1) {
    throw new InvalidArgumentError(kinds.length === 0
      ? `the workload spec names no kind this node runs (${WORKLOAD_KINDS.map(k => `${k}s`).join(', ')})`
      : `the workload spec names ${kinds.join(' and ')}: one kind only`)
  }
  if (msg.cell !== '') assertWorkloadName(msg.cell)
  const base = (name: string): Pick<WorkloadSpec, 'name' | 'limits' | 'restart' | 'cell'> =>
    ({ name: assertWorkloadName(name), limits: limitsFromProto(msg.limits), restart: restartFromProto(msg.restart), cell: msg.cell })
  if (msg.container !== undefined) {
    const container = containerFromProto(msg.container)
    return { ...base(msg.name !== '' ? msg.name : defaultContainerName(container.image)), kind: 'container', ...processFromProto(msg.container, false), container }
  }
  if (msg.vm !== undefined) {
    const container = vmFromProto(msg.vm)
    const spec = { ...base(msg.name !== '' ? msg.name : defaultContainerName(container.image)), kind: 'vm' as const, ...processFromProto(msg.vm, false), container }
    if (spec.cell !== '') throw new InvalidArgumentError('a VM is a cell of its own: --cell does not apply to --vm')
    if (spec.limits.cpus > availableParallelism()) throw new InvalidArgumentError(`--cpus ${spec.limits.cpus}: a VM has at most as many vCPUs as the machine has CPUs (${availableParallelism()})`)
    if (spec.limits.memoryBytes > 0 && spec.limits.memoryBytes < MIN_VM_MEMORY) throw new InvalidArgumentError(`--memory ${formatBytes(spec.limits.memoryBytes)} is below the least a VM's workload may have: ${formatBytes(MIN_VM_MEMORY)}`)
    return spec
  }
  const exe = msg.executable as ExecutableMsg
  const binds = exe.volumes.map(bindFromProto)
  return { ...base(msg.name !== '' ? msg.name : generatedName()), kind: 'executable', ...processFromProto(exe, true), ...(binds.length > 0 ? { binds } : {}), ...(exe.tty ? { tty: true } : {}), ...(exe.interactive ? { interactive: true } : {}) }
}

/** A process's command line, environment and working directory; a container may leave its command to its image. */
export function processFromProto (msg: { command: string[], env: Record<string, string>, workdir: string }, needsCommand: boolean): { command: string[], env: Record<string, string>, workdir: string } {
  const { command, env, workdir } = msg
  if (needsCommand && (command.length === 0 || command[0] === '')) throw new InvalidArgumentError('missing command: put it after --, as in: aurae exec -- echo hi')
  if (command.some(a => a.includes('\0'))) throw new InvalidArgumentError('the command contains a NUL byte')
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_KEY.test(k)) throw new InvalidArgumentError(`invalid environment variable name "${k}"`)
    if (v.includes('\0')) throw new InvalidArgumentError(`environment variable ${k} contains a NUL byte`)
  }
  if (workdir !== '' && (!workdir.startsWith('/') || workdir.includes('\0'))) {
    throw new InvalidArgumentError(`invalid workdir "${workdir}": it must be an absolute path`)
  }
  return { command, env, workdir }
}

/** A volume of either kind: an existing absolute host path, shown at an absolute path. */
function checkVolume (host: string, path: string): void {
  if (!host.startsWith('/') || !path.startsWith('/') || host.includes('\0') || path.includes('\0')) {
    throw new InvalidArgumentError(`invalid volume "${host}:${path}": both sides must be absolute paths`)
  }
  if (!existsSync(host)) throw new InvalidArgumentError(`volume source ${host} does not exist`)
}

/** An executable's `-v HOST[:PATH][:ro]`: PATH is HOST when left out. */
function bindFromProto (v: VolumeMsg): Bind {
  const path = v.container === '' ? v.host : v.container
  checkVolume(v.host, path)
  return { host: v.host, path, readOnly: v.readOnly }
}

/** A container's default name: the image's last path component (`aurae run docker.io/library/nginx` runs `nginx`). */
export function defaultContainerName (image: string): string {
  return parseImageReference(image).repository.split('/').pop() as string
}

/** The least memory a VM's workload may be limited to (Docker's least for a container). */
const MIN_VM_MEMORY = 6 * 2 ** 20

/** A VM's options: a container's, without what a VM does not have (the host's network, a seccomp filter, a terminal). */
function vmFromProto (msg: ContainerMsg): ContainerOptions {
  const refuse = (what: string): never => { throw new InvalidArgumentError(`${what} does not apply to a VM (--vm)`) }
  if (msg.network === 'host') refuse('--net host')
  if (msg.seccomp !== '') refuse('--security-opt seccomp')
  if (msg.tty) refuse('-t')
  if (msg.interactive) refuse('-i')
  return containerFromProto(msg)
}

function containerFromProto (msg: ContainerMsg | undefined): ContainerOptions {
  if (msg === undefined || msg.image === '') throw new InvalidArgumentError('missing image: aurae run IMAGE')
  const image = formatImageReference(parseImageReference(msg.image))
  const network = msg.network === '' ? 'bridge' : msg.network
  if (network !== 'bridge' && network !== 'none' && network !== 'host') throw new InvalidArgumentError(`invalid --net "${msg.network}": expected bridge, host or none`)
  const ports = msg.ports.map(p => {
    if (!isPort(p.hostPort) || !isPort(p.containerPort)) throw new InvalidArgumentError(`invalid port ${p.hostPort}:${p.containerPort}`)
    const protocol = p.protocol === '' ? 'tcp' : p.protocol
    if (protocol !== 'tcp' && protocol !== 'udp') throw new InvalidArgumentError(`invalid protocol "${p.protocol}": expected tcp or udp`)
    if (p.hostIp !== '' && !IPV4.test(p.hostIp)) throw new InvalidArgumentError(`invalid host address "${p.hostIp}"`)
    return { hostPort: p.hostPort, containerPort: p.containerPort, protocol: protocol as 'tcp' | 'udp', hostIP: p.hostIp }
  })
  if (ports.length > 0 && network !== 'bridge') throw new InvalidArgumentError('-p works with bridge networking only')
  const volumes = msg.volumes.map(v => {
    checkVolume(v.host, v.container)
    return { host: v.host, container: v.container, readOnly: v.readOnly }
  })
  if (msg.user !== '' && !/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(msg.user)) throw new InvalidArgumentError(`invalid --user "${msg.user}"`)
  if (msg.seccomp !== '' && msg.seccomp !== 'unconfined') throw new InvalidArgumentError(`invalid seccomp option "${msg.seccomp}": expected unconfined`)
  const stopSignal = msg.stopSignal === '' ? undefined : signalName(msg.stopSignal)
  if (stopSignal === undefined && msg.stopSignal !== '') throw new InvalidArgumentError(`invalid --stop-signal "${msg.stopSignal}": expected a signal such as SIGINT`)
  if (msg.stopTimeout !== undefined && msg.stopTimeout > MAX_STOP_TIMEOUT_S) throw new InvalidArgumentError(`invalid --stop-timeout ${msg.stopTimeout}: at most ${MAX_STOP_TIMEOUT_S} seconds`)
  return {
    image,
    entrypoint: msg.replaceEntrypoint ? msg.entrypoint : undefined,
    user: msg.user,
    network,
    volumes,
    ports,
    ...(msg.seccomp === 'unconfined' ? { seccomp: 'unconfined' as const } : {}),
    ...(stopSignal !== undefined ? { stopSignal } : {}),
    ...(msg.stopTimeout !== undefined ? { stopTimeout: msg.stopTimeout } : {}),
    ...(msg.tty ? { tty: true } : {}),
    ...(msg.interactive ? { interactive: true } : {})
  }
}

/** How a workload ended, as an attached caller hears it. */
export function exitToProto (rec: WorkloadRecord): ExitMsg {
  return { exitCode: rec.exitCode ?? undefined, signal: rec.signal ?? '', oomKilled: rec.oomKilled, error: rec.error }
}

export function workloadToProto (rec: WorkloadRecord): WorkloadMsg {
  const { spec } = rec
  return {
    name: spec.name,
    kind: spec.kind,
    state: rec.state,
    pid: rec.state === 'running' ? rec.pid : 0,
    exitCode: rec.exitCode ?? undefined,
    signal: rec.signal ?? '',
    restarts: rec.restarts,
    oomKilled: rec.oomKilled,
    error: rec.error,
    createdAtMs: rec.createdAt,
    startedAtMs: rec.startedAt,
    finishedAtMs: rec.finishedAt,
    history: (rec.history ?? []).map(h => ({ state: h.state, atMs: h.at })),
    monitorPid: rec.state === 'running' ? rec.monitorPid : 0,
    stopSignal: rec.stopSignal ?? (spec.kind !== 'executable' ? spec.container.stopSignal : undefined) ?? 'SIGTERM',
    stopTimeout: defaultStopTimeoutMs(spec) / 1000,
    machine: spec.kind === 'vm' ? { vcpus: guestCpus(spec.limits.cpus), memoryMb: vmMemoryMb(spec), accel: knownAccel()?.accel ?? '', address: rec.state === 'running' ? rec.address ?? '' : '', boot: rec.boot ?? '' } : undefined,
    spec: {
      name: spec.name,
      limits: spec.limits,
      restart: spec.restart,
      cell: spec.cell,
      ...kindToProto(spec)
    }
  }
}

/** The spec's kind as the proto's `kind` member: exactly one set, the compiler checks every kind is written. */
function kindToProto (spec: WorkloadSpec): Pick<SpecMsg, 'executable' | 'container' | 'vm'> {
  switch (spec.kind) {
    case 'executable':
      return { executable: { command: spec.command, env: spec.env, workdir: spec.workdir, volumes: (spec.binds ?? []).map(b => ({ host: b.host, container: b.path, readOnly: b.readOnly })), tty: spec.tty === true, interactive: spec.interactive === true }, container: undefined, vm: undefined }
    case 'container':
      return { executable: undefined, container: containerToProto(spec), vm: undefined }
    case 'vm':
      return { executable: undefined, container: undefined, vm: containerToProto(spec) }
  }
}

function containerToProto (spec: ContainerSpec | VmSpec): ContainerMsg {
  const c = spec.container
  return {
    image: c.image,
    entrypoint: c.entrypoint ?? [],
    replaceEntrypoint: c.entrypoint !== undefined,
    user: c.user,
    network: c.network,
    volumes: c.volumes,
    ports: c.ports.map(p => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIP })),
    seccomp: c.seccomp ?? '',
    command: spec.command,
    env: spec.env,
    workdir: spec.workdir,
    stopSignal: c.stopSignal ?? '',
    stopTimeout: c.stopTimeout,
    tty: c.tty === true,
    interactive: c.interactive === true
  }
}
