// The one supervisor: starts workloads under a monitor, learns their exits, restarts, stops and re-adopts them.
// Longer than the house's ~300 lines on purpose: it is the workload state machine (created → running → restarting
// or exited), and every transition stays in this one file to be read together. The rules it applies live beside it:
// restart-policy.ts, name-lock.ts, workload-names.ts, published-ports.ts, exit-waiters.ts, monitors.ts, run-files.ts,
// and each kind's driver (driver.ts).
import { EventEmitter } from 'node:events'
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, messageOf } from '../errors.ts'
import type { Component } from '../lifecycle.ts'
import type { Table } from '../store/store.ts'
import type { Attacher } from './attach.ts'
import type { CellUsage, Cgroups } from './cgroups.ts'
import type { Drivers, EnterPlan, EnterRequest, LaunchPlan, RunEnd, Task, WorkloadDriver } from './driver.ts'
import { isSameProcess, signalNumber, startTimeOf } from './proc.ts'
import { Monitors } from './monitors.ts'
import { NameLock } from './name-lock.ts'
import { afterRun } from './restart-policy.ts'
import { RunFiles } from './run-files.ts'
import { WORKLOAD_KINDS, createdRecord, defaultStopTimeoutMs, enterState, type WorkloadRecord, type WorkloadSpec } from './workload.ts'
import { assertPortsFree, assertPortsUnbound } from './published-ports.ts'
import { NameTakenError, candidateNames } from './workload-names.ts'
import { ExitWaiters } from './exit-waiters.ts'

export interface SupervisorInit {
  workloads: Table<WorkloadRecord>
  /** One driver for every kind of workload. */
  drivers: Drivers
  cgroups: Cgroups
  dataDir: string
  monitorPath: string
  /** Size at which a workload's log file rotates, and how many files (the live one included) are kept. */
  logMaxBytes?: number
  logFiles?: number
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: object) => void
}

/** A start that failed after the record was made (bad command, bad workdir): the record says why. */
export class StartError extends FailedPreconditionError {
  override name = 'StartError'
  constructor (readonly record: WorkloadRecord) {
    super(record.error)
  }
}

const SWEEP_MS = 2_000

export class Supervisor extends EventEmitter<{ exit: [WorkloadRecord], change: [WorkloadRecord] }> implements Component {
  private readonly records = new Map<string, WorkloadRecord>()
  private readonly locks = new NameLock()
  private readonly monitors: Monitors
  private readonly attachers = new Map<string, Attacher>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly exitWaiters = new ExitWaiters()
  private readonly files: RunFiles
  private sweeper?: NodeJS.Timeout
  private stopping = false

  constructor (private readonly init: SupervisorInit) {
    super()
    this.setMaxListeners(0)
    this.files = new RunFiles(init.dataDir)
    this.monitors = new Monitors({ ...init, files: this.files })
  }

  /** Loads every record and re-adopts what still runs; exits that happened meanwhile are recorded. */
  async start (): Promise<void> {
    this.files.open({
      exit: (name, run) => void this.reap(name, run),
      attach: () => this.monitors.poke(),
      error: err => this.init.log('warn', 'run dir watch failed', { err: messageOf(err) })
    })
    this.monitors.open()
    for (const rec of await this.init.workloads.values()) {
      if (WORKLOAD_KINDS.includes(rec.spec.kind)) this.records.set(rec.spec.name, rec)
      else this.init.log('warn', 'left alone a workload of a kind this node does not run', { name: rec.spec.name, kind: rec.spec.kind })
    }
    for (const rec of this.records.values()) {
      const name = rec.spec.name
      if (rec.state === 'running') {
        if (isSameProcess(rec.monitorPid, rec.monitorStart)) this.init.log('info', 'adopted workload', { name, pid: rec.pid, state: this.driverOf(rec).state(taskOf(rec)).status })
        else void this.reap(name, rec.run)
      } else if (rec.state === 'restarting') {
        this.schedule(rec, 0)
      } else if (rec.state === 'created') {
        // Its start was never answered: whatever it may have started goes, and the record stays to say so.
        await this.locked(name, async () => {
          await this.driverOf(rec).stop(taskOf(rec), { timeoutMs: 0, exited: Promise.resolve() })
          await this.finish(rec, { exitCode: null, signal: null, error: 'auraed stopped while the workload was starting' })
        }).catch(err => this.init.log('warn', 'could not record the end of a start cut short; the next start tries again', { name, err: messageOf(err) }))
      }
    }
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS).unref()
  }

  /**
   * Refuses new runs and restarts at once, then stops every running workload (those a run under way when the stop
   * came started too); resolves with how many it stopped. A shutdown that keeps the workloads does not call it.
   */
  async stopWorkloads (timeoutMs?: number): Promise<number> {
    this.stopping = true
    let stopped = 0
    const stopLive = async (): Promise<void> => {
      const live = [...this.records.values()].filter(r => r.state === 'running' || r.state === 'restarting')
      await Promise.all(live.map(async r => await this.stopWorkload(r.spec.name, timeoutMs).then(() => stopped++, () => {})))
    }
    await stopLive()
    await this.locks.idle()
    await stopLive()
    return stopped
  }

  /** Refuses new runs and restarts, and stops watching; the workloads still running go on under their monitors. */
  async stop (): Promise<void> {
    this.stopping = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    clearInterval(this.sweeper)
    this.files.close()
    this.monitors.close()
    await this.locks.idle()
  }

  list (all: boolean): WorkloadRecord[] {
    return [...this.records.values()]
      .filter(r => all || r.state !== 'exited')
      .sort((a, b) => a.createdAt - b.createdAt)
  }

  get (name: string): WorkloadRecord {
    const rec = this.records.get(name)
    if (rec === undefined) throw new NotFoundError(`no workload named ${name}`)
    return rec
  }

  has (name: string): boolean {
    return this.records.has(name)
  }

  logPath (name: string): string {
    return this.files.logPath(name)
  }

  /** Where the workload's console is kept, if its kind has one (a VM's). */
  consolePath (name: string): string | undefined {
    const rec = this.get(name)
    return this.driverOf(rec).consoleOf?.(taskOf(rec))
  }

  /** Creates and starts a workload; throws StartError (with the record kept) when its process cannot start.
   * With an attacher, each run's output also goes to it until detach(). `signal` is the caller's: once it
   * has gone, a start still waiting (on a pull) gives up. With `pickName`, a name already taken is not refused:
   * the first free one of NAME, NAME-2, NAME-3, … is taken instead (decided under each name's lock, so two runs
   * at once never pick the same). */
  async run (spec: WorkloadSpec, attacher?: Attacher, signal?: AbortSignal, pickName = false): Promise<WorkloadRecord> {
    if (this.stopping) throw new FailedPreconditionError('auraed is shutting down')
    if (!WORKLOAD_KINDS.includes(spec.kind)) throw new InvalidArgumentError(`unknown workload kind ${String(spec.kind)}`)
    await assertPortsUnbound(spec)
    for (const name of candidateNames(spec.name, pickName)) {
      if (pickName && this.records.has(name)) continue
      const rec = await this.locked(name, async () => {
        // The stop may have come while this run waited for the name.
        if (this.stopping) throw new FailedPreconditionError('auraed is shutting down')
        if (this.records.has(name)) {
          if (pickName) return undefined
          throw new NameTakenError(name)
        }
        return await this.create({ ...spec, name }, attacher, signal)
      })
      if (rec !== undefined) return rec
    }
    throw new NameTakenError(spec.name)
  }

  /** Records and starts a workload whose name is free. Lock held. */
  private async create (spec: WorkloadSpec, attacher?: Attacher, signal?: AbortSignal): Promise<WorkloadRecord> {
    // Checked and recorded in one synchronous step: a second run publishing the same port sees this one.
    assertPortsFree(spec, this.records.values())
    const rec = createdRecord(spec)
    this.records.set(spec.name, rec)
    try {
      await this.save(rec)
    } catch (err) {
      // Not recorded, not started: refused, and nothing of it is kept.
      this.records.delete(spec.name)
      throw err
    }
    this.emit('change', rec)
    if (attacher !== undefined) this.attachers.set(spec.name, attacher)
    else this.attachers.delete(spec.name)
    await this.launch(rec, signal)
    if (rec.state === 'exited') throw new StartError(rec)
    return rec
  }

  /** Starts an exited workload again from its recorded spec, as `docker start`; one that runs is left as it is. */
  async startAgain (name: string): Promise<WorkloadRecord> {
    if (this.stopping) throw new FailedPreconditionError('auraed is shutting down')
    await assertPortsUnbound(this.get(name).spec)
    return await this.locked(name, async () => {
      const rec = this.get(name)
      if (rec.state !== 'exited') return rec
      assertPortsFree(rec.spec, this.records.values())
      rec.desired = 'running'
      rec.streak = 0
      // Marked at once, so a run publishing the same port meanwhile sees it taken.
      enterState(rec, 'created')
      this.attachers.delete(name)
      await this.launch(rec)
      if (rec.state === 'exited') throw new StartError(rec)
      return rec
    })
  }

  /** Stops the workload (as stopWorkload) and starts it again from its recorded spec. */
  async restart (name: string, timeoutMs?: number): Promise<WorkloadRecord> {
    const rec = this.get(name)
    if (rec.state !== 'exited') await this.stopWorkload(name, timeoutMs)
    return await this.startAgain(name)
  }

  /** What runs a command inside the running workload: its driver says how to enter it. */
  async enter (name: string, request: EnterRequest): Promise<EnterPlan> {
    const rec = this.get(name)
    const driver = this.driverOf(rec)
    if (rec.state !== 'running' || driver.state(taskOf(rec)).status !== 'running') throw new FailedPreconditionError(`workload ${name} is not running`)
    return await driver.enter(taskOf(rec), request)
  }

  /** Its next runs stream to no one but the log. */
  detach (name: string, attacher: Attacher): void {
    if (this.attachers.get(name) === attacher) this.attachers.delete(name)
  }

  /** Resolves when the workload has exited for good (not when it is about to restart). */
  async waitExit (name: string, signal?: AbortSignal): Promise<WorkloadRecord> {
    const rec = this.get(name)
    if (rec.state === 'exited') return rec
    return await this.exitWaiters.wait(name, signal)
  }

  /** Tells everyone of an ended run, and those waiting for the workload's end when it has ended for good. */
  private announceExit (rec: WorkloadRecord): void {
    if (rec.state === 'exited') this.exitWaiters.settle(rec)
    this.emit('exit', rec)
  }

  /**
   * Stops the workload its driver's way (SIGTERM, then SIGKILL after the timeout, for processes); resolves once it
   * has exited. Without a timeout, the spec's (a container's --stop-timeout) or 10 s.
   */
  async stopWorkload (name: string, timeoutMs?: number): Promise<WorkloadRecord> {
    const rec = await this.locked(name, async () => {
      const rec = this.get(name)
      rec.desired = 'stopped'
      if (rec.state === 'restarting') {
        clearTimeout(this.timers.get(name))
        this.timers.delete(name)
        enterState(rec, 'exited')
        this.announceExit(rec)
      }
      await this.save(rec)
      return rec
    })
    if (rec.state !== 'running') return rec
    const exited = this.waitExit(name)
    await this.driverOf(rec).stop(taskOf(rec), { timeoutMs: timeoutMs ?? defaultStopTimeoutMs(rec.spec), exited })
    return await exited
  }

  /** Delivers a signal to the workload's process group. */
  async signal (name: string, sig: string): Promise<void> {
    if (signalNumber(sig) === undefined) throw new InvalidArgumentError(`unknown signal ${sig}`)
    const rec = this.get(name)
    const driver = this.driverOf(rec)
    if (rec.state !== 'running' || driver.state(taskOf(rec)).status !== 'running') throw new FailedPreconditionError(`workload ${name} is not running`)
    driver.signal(taskOf(rec), sig as NodeJS.Signals)
  }

  /** Forgets a workload that has ended: record, logs and run files; `force` stops it first. */
  async remove (name: string, force: boolean): Promise<void> {
    const rec = this.get(name)
    if (rec.state === 'running' || rec.state === 'restarting') {
      if (!force) throw new FailedPreconditionError(`workload ${name} is ${rec.state}; stop it first or use --force`)
      await this.stopWorkload(name, 0)
    }
    await this.locked(name, async () => {
      this.records.delete(name)
      await this.init.workloads.del(name)
      this.files.removeAll(name)
      await this.driverOf(rec).release(taskOf(rec), true).catch(err => this.init.log('warn', 'could not free what the workload kept', { name, err: messageOf(err) }))
      this.emit('change', rec)
    })
  }

  /** What the workload uses now, from its cgroup (nothing when it has none or does not run), for `aurae stats`. */
  usage (name: string): CellUsage {
    const rec = this.get(name)
    const cgroup = rec.state === 'running' ? this.driverOf(rec).cgroupOf(taskOf(rec)) : ''
    return cgroup === '' ? { cpuNs: 0, memoryBytes: 0, memoryLimitBytes: 0, pids: 0 } : this.init.cgroups.usage(cgroup)
  }

  private driverOf (rec: WorkloadRecord): WorkloadDriver {
    const driver: WorkloadDriver = this.init.drivers[rec.spec.kind]
    return driver
  }

  /** Starts one run of the workload under a fresh monitor. Called with the workload's lock held. */
  private async launch (rec: WorkloadRecord, signal?: AbortSignal): Promise<void> {
    const name = rec.spec.name
    rec.run++
    rec.exitCode = null
    rec.signal = null
    rec.oomKilled = false
    rec.error = ''
    let plan: LaunchPlan
    try {
      plan = await this.driverOf(rec).prepare(taskOf(rec), signal)
      rec.stopSignal = plan.stopSignal
      rec.address = plan.address
      rec.boot = plan.boot
    } catch (err) {
      await this.finish(rec, { exitCode: 125, signal: null, error: messageOf(err) })
      return
    }
    rec.oomBase = plan.cgroup === '' ? 0 : this.init.cgroups.oomKills(plan.cgroup)
    const run = rec.run
    const status = await this.monitors.start(name, run, plan, this.attachers.get(name))
    if (status.pid === undefined) {
      if (status.monitor === undefined) {
        await this.finish(rec, { exitCode: 125, signal: null, error: status.error ?? 'start failed' })
        return
      }
      // The monitor writes the exit file too: record it before anyone sees the workload.
      enterState(rec, 'running')
      rec.monitorPid = status.monitor
      await this.waitForReap(rec, run)
      return
    }
    rec.pid = status.pid
    rec.pidStart = startTimeOf(status.pid) ?? 0
    rec.monitorPid = status.monitor ?? 0
    rec.monitorStart = startTimeOf(rec.monitorPid) ?? 0
    enterState(rec, 'running')
    rec.startedAt = Date.now()
    rec.finishedAt = 0
    try {
      await this.save(rec)
    } catch (err) {
      // A workload no record knows of would run unsupervised after a restart: it does not run at all.
      await this.driverOf(rec).stop(taskOf(rec), { timeoutMs: 0, exited: Promise.resolve() })
      await this.waitForReap(rec, run)
      throw err
    }
    this.emit('change', rec)
  }

  /** For a start that failed inside the monitor: wait (lock held) until its exit file is written and read it. */
  private async waitForReap (rec: WorkloadRecord, run: number): Promise<void> {
    const end = await this.files.awaitExit(rec.spec.name, run, () => rec.state === 'running')
    if (end !== undefined) await this.finish(rec, end)
  }

  /** Records the end of run `run` if it has ended: from its exit file, or as unknown if its monitor vanished. */
  private async reap (name: string, run: number): Promise<void> {
    await this.locked(name, async () => {
      const rec = this.records.get(name)
      if (rec === undefined || rec.run !== run || rec.state !== 'running') return
      const file = this.files.readExit(name, run)
      if (file === undefined) {
        if (isSameProcess(rec.monitorPid, rec.monitorStart)) return
        await this.finish(rec, { exitCode: null, signal: null, error: 'the workload\'s monitor died; its exit status is unknown' })
        return
      }
      await this.finish(rec, file)
    })
  }

  /** Writes an ended run into the record, frees its resources and restarts it if the policy says so. Lock held. */
  private async finish (rec: WorkloadRecord, end: RunEnd): Promise<void> {
    const driver = this.driverOf(rec)
    const cgroup = driver.cgroupOf(taskOf(rec))
    const oomKills = cgroup === '' ? 0 : this.init.cgroups.oomKills(cgroup) - rec.oomBase
    // An end the monitor could not learn (it died) has nothing more to read.
    const exit = end.error === undefined ? await driver.explain(taskOf(rec), end, oomKills).catch(() => ({ ...end, oomKilled: false })) : { ...end, oomKilled: false }
    rec.exitCode = exit.exitCode
    rec.signal = exit.signal
    rec.error = exit.error ?? rec.error
    rec.finishedAt = exit.finishedAt !== undefined ? Date.parse(exit.finishedAt) : Date.now()
    rec.oomKilled = exit.oomKilled
    rec.pid = 0
    try {
      await driver.release(taskOf(rec))
    } catch (err) {
      this.init.log('warn', 'could not free what the workload\'s run held', { name: rec.spec.name, err: messageOf(err) })
    }
    const next = afterRun({ policy: rec.spec.restart, wanted: rec.desired === 'running', stopping: this.stopping, error: rec.error, exitCode: rec.exitCode, startedAt: rec.startedAt, finishedAt: rec.finishedAt, streak: rec.streak })
    const restart = next.restart
    if (next.restart) {
      rec.streak = next.streak
      enterState(rec, 'restarting')
      this.schedule(rec, next.delayMs)
    } else {
      enterState(rec, 'exited')
    }
    await this.save(rec)
    // Only once the end is recorded: until then, a restarted daemon reads it from here.
    this.files.clearExit(rec.spec.name, rec.run)
    this.init.log('info', 'workload exited', { name: rec.spec.name, exitCode: rec.exitCode, signal: rec.signal, oomKilled: rec.oomKilled, restarting: restart })
    this.announceExit(rec)
  }

  private schedule (rec: WorkloadRecord, delayMs: number): void {
    const name = rec.spec.name
    clearTimeout(this.timers.get(name))
    this.timers.set(name, setTimeout(() => {
      this.timers.delete(name)
      void this.locked(name, async () => {
        if (this.records.get(name) !== rec || rec.state !== 'restarting' || rec.desired !== 'running') return
        rec.restarts++
        await this.launch(rec)
      })
    }, delayMs))
  }

  /** Catches exits whose exit-file notification was missed, and monitors that died without one. */
  private sweep (): void {
    for (const rec of this.records.values()) {
      if (rec.state === 'running' && !isSameProcess(rec.monitorPid, rec.monitorStart)) {
        void this.reap(rec.spec.name, rec.run)
      }
    }
  }

  private async save (rec: WorkloadRecord): Promise<void> {
    if (this.records.get(rec.spec.name) === rec) await this.init.workloads.put(rec.spec.name, rec)
  }

  /** Runs `fn` after every earlier operation on the same workload has finished. */
  private async locked<T> (name: string, fn: () => Promise<T>): Promise<T> {
    return await this.locks.run(name, fn)
  }
}


/** The driver's read-only view of a workload's current run. */
function taskOf (rec: WorkloadRecord): Task {
  return { name: rec.spec.name, spec: rec.spec, pid: rec.pid, pidStart: rec.pidStart }
}
