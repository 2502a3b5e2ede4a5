// Containers: an image's root under a writable overlay, an OCI bundle, and crun (or runc) `run --detach` under
// the workload's monitor, which adopts the container's process once the runtime has exited (none stays beside it),
// so logs, exit codes and re-adoption work as for executables.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { FailedPreconditionError } from '../../errors.ts'
import { removeCellEverywhere, type Cgroups } from '../cgroups.ts'
import type { EnterPlan, EnterRequest, LaunchPlan, Task, WorkloadDriver } from '../driver.ts'
import { PROCESS_FD } from '../../common/process-fd.ts'
import type { ContentStore } from '../image/content-store.ts'
import type { Images } from '../image/images.ts'
import { containerDir, IMAGE_NOTE, rootsDir } from '../image/unpacked-roots.ts'
import type { ContainerSpec } from '../workload.ts'
import { signalName } from '../../common/signals.ts'
import { signalNumber } from '../proc.ts'
import { helperFailure } from '../helper-failure.ts'
import { groupState, oomKilled, signalProcess, stopGroup } from '../process-group.ts'
import { execProcess, ociConfig, resolveUser, type ImageConfig, type OciProcess } from './oci-config.ts'
import { heldImage, imageRoot, overlayOf, unmountUnder } from './rootfs.ts'
import type { BridgeNetwork } from './cni.ts'
import { writeEtcFiles } from './etc-files.ts'
import { execPlan, type ExecConfig } from './exec-plan.ts'

const run = promisify(execFile)
const RUNTIME_LOG = 'runtime.log'
/** The bundle's note of the signal that stops the container, read by every stop (after a daemon restart too). */
const STOP_SIGNAL = 'stop-signal'
/** Where the runtime writes the PID of the container's process. */
const INIT_PID = 'init.pid'
/** Where `create` hands the terminal of a `tty` container to its monitor. */
const CONSOLE = 'console.sock'
/** sun_path's room: a longer console socket's path cannot be bound. */
const SOCKET_PATH_MAX = 107
/** How long exec waits for a container just started to appear in the runtime's state. */
const ENTER_WAIT_MS = 5_000
/** What aurae-enter needs to run a command inside the container (exec-plan.ts), beside config.json. */
const EXEC_PLAN = 'exec.plan'
/** The helper that runs a command inside a running container in a few milliseconds (monitor/aurae-enter.c). */
const ENTER = fileURLToPath(new URL('../monitor/aurae-enter', import.meta.url))

/** The process of `runtime exec --process` for a command on a terminal of its own, from the bundle's config. */
async function terminalProcess (bundle: string, request: EnterRequest): Promise<OciProcess> {
  const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process?: OciProcess }
  if (config.process === undefined) throw new FailedPreconditionError('the container\'s config has no process to run the command as')
  return execProcess(config.process, request)
}

/** aurae-enter's argv for a command inside the container of `task`; its failure, if any, in a file of its own. */
function enterPlan (task: Task<ContainerSpec>, plan: string, request: EnterRequest): EnterPlan {
  // A caller that runs the command itself reads the helper's failure on its stderr.
  const errors = request.byCaller === true ? '-' : join(dirname(plan), `exec-${randomUUID()}.err`)
  return {
    argv: [ENTER, plan, String(task.pid), String(task.pidStart), errors, ...Object.entries(request.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      ...(request.workdir !== '' ? ['-w', request.workdir] : []), '--', ...request.command],
    env: {},
    async explain () {
      return errors === '-' ? undefined : await helperFailure(errors, 'cannot run the command in the container')
    }
  }
}

/**
 * What the runtime's JSON log says went wrong before the container's process ran, with Docker's
 * exit codes: 127 for a command that does not exist, 126 for one that cannot be run, 125 for a
 * container the runtime could not make.
 */
export function runtimeFailure (log: string): { exitCode: number, error: string } | undefined {
  const errors = log.split('\n').flatMap(line => {
    try {
      const entry = JSON.parse(line) as { level?: string, msg?: string }
      return entry.level === 'error' && typeof entry.msg === 'string' ? [entry.msg] : []
    } catch {
      return []
    }
  })
  // Only a run that failed: a runtime's complaint while tearing down keeps the workload's own code.
  const step = /^(runc|crun) (run|create|start) failed: /
  const said = errors.findLast(e => /container process|executable file/i.test(e) || step.test(e))
  if (said === undefined) return undefined
  if (!/container process|executable file/i.test(said)) return { exitCode: 125, error: `the runtime could not make the container: ${said.replace(step, '')}` }
  // runc: "runc run failed: unable to start container process: exec: "x": …"; crun names the file and the errno.
  const reason = said.replace(/^.*?unable to start container process: /, '').replace(step, '')
  const exitCode = /no such file or directory|not found/i.test(said) ? 127 : /permission denied|exec format error/i.test(said) ? 126 : 125
  return { exitCode, error: `cannot start the container's process: ${reason}` }
}

export interface ContainerDriverInit {
  network: BridgeNetwork
  images: Images
  content: ContentStore
  cgroups: Cgroups
  dataDir: string
  nodeKey: string
}

/** crun where it can manage this host's cgroups, runc otherwise (crun refuses hybrid hosts with controllers on v2). */
function pickRuntime (): string {
  const has = (bin: string): boolean => ['/usr/bin', '/usr/local/bin', '/usr/sbin'].some(d => existsSync(join(d, bin)))
  const hybrid = (() => {
    try {
      return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== ''
    } catch {
      return false
    }
  })()
  if (has('crun') && !hybrid) return 'crun'
  if (has('runc')) return 'runc'
  if (has('crun')) return 'crun'
  return ''
}

export function containerDriver (init: ContainerDriverInit): WorkloadDriver<ContainerSpec> {
  const runtime = pickRuntime()
  const stateRoot = join(init.dataDir, 'oci-state')
  const bundleOf = (task: Task<ContainerSpec>): string => containerDir(init.dataDir, task.name)
  const idOf = (task: Task<ContainerSpec>): string => `aurae-${init.nodeKey}-${task.name}`
  const cgroupOf = (task: Task<ContainerSpec>): string => init.cgroups.version === 'none' ? '' : `ct-${task.name}`
  // `run` in the foreground deletes its container when it ends, unless told to keep it or killed.
  const deleteState = async (task: Task<ContainerSpec>): Promise<void> => {
    if (existsSync(join(stateRoot, idOf(task)))) await run(runtime, ['--root', stateRoot, 'delete', '--force', idOf(task)]).catch(() => {})
  }
  return {
    kind: 'container',
    cgroupOf,
    async prepare (task, signal): Promise<LaunchPlan> {
      if (runtime === '') throw new FailedPreconditionError('no OCI runtime: install crun or runc')
      const spec = task.spec
      const c = spec.container
      // Its writable layer lies over the root of the image it was made from.
      const image = await heldImage(init.images, init.content, init.dataDir, task.name, c.image, signal)
      const lower = await imageRoot(image, init.content, rootsDir(init.dataDir))
      const bundle = bundleOf(task)
      await deleteState(task)
      // What an earlier run left says nothing of this one.
      for (const f of [RUNTIME_LOG, INIT_PID]) await rm(join(bundle, f), { force: true })
      const overlay = await overlayOf(lower, bundle)
      const config = (JSON.parse((await init.content.read(image.config)).toString()) as { config?: ImageConfig }).config ?? {}
      // The writable layer starts empty, so the image's own files are what the container will see.
      const etc = async (f: string): Promise<string> => await readFile(join(lower, 'etc', f), 'utf8').catch(() => '')
      const ids = resolveUser(c.user !== '' ? c.user : config.User ?? '', await etc('passwd'), await etc('group'))
      const netns = c.network === 'bridge' ? await init.network.attach(idOf(task), c.ports ?? []) : ''
      const etcFiles = await writeEtcFiles(bundle, spec.name, c.network)
      const oci = ociConfig(config, {
        name: spec.name,
        command: spec.command,
        entrypoint: c.entrypoint,
        env: spec.env,
        workdir: spec.workdir,
        user: c.user,
        volumes: c.volumes,
        network: c.network === 'bridge' ? { mode: 'path', path: netns } : { mode: c.network },
        limits: spec.limits,
        cgroupsPath: `/aurae/${init.nodeKey}/ct-${spec.name}`,
        etcFiles,
        seccomp: c.seccomp !== 'unconfined',
        tty: c.tty
      }, ids)
      await writeFile(join(bundle, 'config.json'), JSON.stringify(oci, null, 2))
      // aurae-enter keeps the filter it compiles from the plan beside it; a new plan needs a new one.
      await rm(join(bundle, `${EXEC_PLAN}.bpf`), { force: true })
      await writeFile(join(bundle, EXEC_PLAN), execPlan(oci as ExecConfig))
      // --stop-signal, else the image's StopSignal, else SIGTERM, as Docker chooses.
      const stopSignal = c.stopSignal ?? signalName(config.StopSignal ?? '') ?? 'SIGTERM'
      await writeFile(join(bundle, STOP_SIGNAL), stopSignal)
      // The runtime's own messages go to a log of their own. The container (and its cgroup) stays after the exit,
      // so the supervisor can read whether it was OOM-killed; release deletes it.
      const runtimeArgs = [runtime, '--root', stateRoot, '--log', join(bundle, RUNTIME_LOG), '--log-format', 'json']
      const consoleSocket = c.tty === true ? join(bundle, CONSOLE) : undefined
      if (consoleSocket !== undefined && Buffer.byteLength(consoleSocket) > SOCKET_PATH_MAX) throw new FailedPreconditionError(`a terminal (-t) needs a shorter data directory: ${consoleSocket} is too long for a socket`)
      return {
        // One runtime process, not `create` and `start` (two, about 10 ms more a start), except for a terminal: the
        // monitor takes it between the two, before the container's process runs on it.
        argv: consoleSocket === undefined
          ? [...runtimeArgs, 'run', '--detach', '--pid-file', join(bundle, INIT_PID), '--bundle', bundle, idOf(task)]
          : [...runtimeArgs, 'create', '--console-socket', consoleSocket, '--pid-file', join(bundle, INIT_PID), '--bundle', bundle, idOf(task)],
        adopt: { pidFile: join(bundle, INIT_PID), consoleSocket, ...(consoleSocket !== undefined ? { start: [...runtimeArgs, 'start', idOf(task)] } : {}) },
        // A terminal carries the container's input itself.
        input: c.interactive === true && c.tty !== true ? 'pipe' : undefined,
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
        workdir: bundle,
        cgroup: '',
        overlay,
        stopSignal
      }
    },
    // Signals go to the container's process alone, as the runtime's `kill` sends them; what is left in its cgroup
    // goes with a forced stop.
    async stop (task, request) {
      const noted = signalName(await readFile(join(bundleOf(task), STOP_SIGNAL), 'utf8').catch(() => ''))
      await stopGroup(task, request, async () => {
        if (cgroupOf(task) !== '') await init.cgroups.killAll(cgroupOf(task))
      }, (noted ?? 'SIGTERM') as NodeJS.Signals, signalProcess)
    },
    // A command inside the container, its output piped: aurae-enter, which makes it the container's process as the
    // runtime's exec would, several times faster. A terminal, or a command left running (-d), goes to the runtime's
    // own exec, as does a container made before there were exec plans. Either one's messages go to a file of their
    // own, so that the command's stderr stays the command's.
    async enter (task, request) {
      const plan = join(bundleOf(task), EXEC_PLAN)
      if (request.tty !== true && request.detach !== true && task.pid > 0 && existsSync(plan)) return enterPlan(task, plan, request)
      // A run just started may not be the runtime's container yet: its state appears within moments.
      for (let waited = 0; !existsSync(join(stateRoot, idOf(task), 'state.json')) && waited < ENTER_WAIT_MS; waited += 10) await sleep(10)
      const log = join(bundleOf(task), `exec-${randomUUID()}.log`)
      // A terminal's process is the container's own, written out with its size (read from a pipe, not a file).
      const terminal = request.tty === true ? await terminalProcess(bundleOf(task), request) : undefined
      const how = terminal !== undefined
        ? ['--process', `/proc/self/fd/${PROCESS_FD}`, ...(request.detach === true ? ['--detach'] : []), idOf(task)]
        : [...(request.detach === true ? ['--detach'] : []), ...(request.workdir !== '' ? ['--cwd', request.workdir] : []),
            ...Object.entries(request.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]), idOf(task), ...request.command]
      return {
        argv: [runtime, '--root', stateRoot, ...(request.byCaller === true ? [] : ['--log', log, '--log-format', 'json']), 'exec', ...how],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
        ...(terminal !== undefined ? { process: JSON.stringify(terminal) } : {}),
        async explain (exitCode) {
          const said = await readFile(log, 'utf8').catch(() => '')
          await rm(log, { force: true })
          const failure = exitCode === 0 ? undefined : runtimeFailure(said)
          return failure === undefined ? undefined : { ...failure, error: failure.error.replace('cannot start the container\'s process', 'cannot run the command in the container') }
        },
        // runc prints its failure on stderr too (the command's own, which it hands over as it is).
        runtimeSays: text => /^exec failed: /.test(text)
      }
    },
    signal: signalProcess,
    state: groupState,
    // A container's end is a number, as Docker reports it: death by signal N is 128 + N. A runtime that failed
    // before the process ran says why in its log, with Docker's 125, 126 or 127.
    async explain (task, end, oomKills) {
      if (end.failedAt !== undefined) {
        const failure = runtimeFailure(await readFile(join(bundleOf(task), RUNTIME_LOG), 'utf8').catch(() => ''))
        return { ...end, ...(failure ?? { exitCode: 125, error: `the runtime could not ${end.failedAt} the container` }), oomKilled: false }
      }
      const killed = oomKilled(oomKills)
      const signalled = end.signal === null ? undefined : signalNumber(end.signal)
      if (signalled !== undefined) return { ...end, exitCode: 128 + signalled, signal: null, oomKilled: killed }
      return { ...end, oomKilled: killed }
    },
    // The writable layer and the image note stay until the container is removed, as Docker keeps a container's files
    // across stop and start.
    async release (task, forget) {
      const bundle = bundleOf(task)
      if (forget === true) {
        await unmountUnder(bundle)
        await rm(bundle, { recursive: true, force: true })
        return
      }
      // What is left of the container goes with its cgroups; the runtime's `delete` would do no more than remove them
      // and its state, so it is not started for it (10 ms and more of every run) where aurae manages the cgroups.
      if (init.cgroups.version !== 'none') {
        await init.cgroups.remove(cgroupOf(task)).catch(() => {})
        removeCellEverywhere(init.nodeKey, cgroupOf(task))
      } else {
        await deleteState(task)
      }
      if (task.spec.container.network === 'bridge') await init.network.detach(idOf(task), task.spec.container.ports ?? [])
      const state = join(stateRoot, idOf(task))
      await unmountUnder(bundle, state)
      for (const f of await readdir(bundle).catch(() => [] as string[])) {
        if (f !== 'upper' && f !== IMAGE_NOTE) await rm(join(bundle, f), { recursive: true, force: true })
      }
      await rm(state, { recursive: true, force: true })
    }
  }
}
