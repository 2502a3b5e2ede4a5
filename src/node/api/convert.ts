// Validation at the edge: proto messages in, typed domain values out (and back).
import { InvalidArgumentError } from '../../errors.ts'
import type { Limits as LimitsMsg, Workload as WorkloadMsg, WorkloadSpec as SpecMsg } from '../../gen/aurae/workloads/v0/workloads.ts'
import { assertWorkloadName } from '../../names/parse.ts'
import { validateLimits, type Limits } from '../../runtime/limits.ts'
import { RESTART_POLICIES, type RestartPolicy, type WorkloadRecord, type WorkloadSpec } from '../../runtime/workload.ts'

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/
const DEFAULT_STOP_TIMEOUT_S = 10

/** A stop request's grace period: 10 s when unset, 0 for SIGKILL at once, at most an hour. */
export function stopTimeoutMs (seconds: number | undefined): number {
  return Math.min(seconds ?? DEFAULT_STOP_TIMEOUT_S, 3600) * 1000
}

/** A generated name for a workload the user did not name. */
export function generatedName (): string {
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

/** Checks a spec from a client: name, kind, command, env, workdir, limits, restart policy. */
export function specFromProto (msg: SpecMsg | undefined): WorkloadSpec {
  if (msg === undefined) throw new InvalidArgumentError('missing workload spec')
  const kind = msg.kind === '' ? 'executable' : msg.kind
  if (kind !== 'executable') throw new InvalidArgumentError(`unsupported workload kind "${msg.kind}": this node runs executables`)
  const command = msg.executable?.command ?? []
  if (command.length === 0 || command[0] === '') throw new InvalidArgumentError('missing command: put it after --, as in: aurae exec -- echo hi')
  if (command.some(a => a.includes('\0'))) throw new InvalidArgumentError('the command contains a NUL byte')
  const env = msg.executable?.env ?? {}
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_KEY.test(k)) throw new InvalidArgumentError(`invalid environment variable name "${k}"`)
    if (v.includes('\0')) throw new InvalidArgumentError(`environment variable ${k} contains a NUL byte`)
  }
  const workdir = msg.executable?.workdir ?? ''
  if (workdir !== '' && (!workdir.startsWith('/') || workdir.includes('\0'))) {
    throw new InvalidArgumentError(`invalid workdir "${workdir}": it must be an absolute path`)
  }
  if (msg.cell !== '') assertWorkloadName(msg.cell)
  return {
    name: assertWorkloadName(msg.name === '' ? generatedName() : msg.name),
    kind,
    command,
    env,
    workdir,
    limits: limitsFromProto(msg.limits),
    restart: restartFromProto(msg.restart),
    cell: msg.cell
  }
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
    spec: {
      name: spec.name,
      kind: spec.kind,
      executable: { command: spec.command, env: spec.env, workdir: spec.workdir },
      limits: spec.limits,
      restart: spec.restart,
      cell: spec.cell
    }
  }
}
