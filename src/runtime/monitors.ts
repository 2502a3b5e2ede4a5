// Hands one run of a workload to a fresh aurae-monitor: its command line from the driver's plan, the run's exit file
// and log, and an attach point when a reader waits for the output. The supervisor decides when, and records what
// comes back.
import { AttachPoints, type Attacher } from './attach.ts'
import type { Cgroups } from './cgroups.ts'
import type { LaunchPlan } from './driver.ts'
import { Launcher, execLimitError, type LaunchStatus } from './launcher.ts'
import { LOG_FILES, LOG_MAX_BYTES } from './log-files.ts'
import { monitorArgs } from './monitor-protocol.ts'
import type { RunFiles } from './run-files.ts'

export interface MonitorsInit {
  monitorPath: string
  files: RunFiles
  cgroups: Cgroups
  logMaxBytes?: number
  logFiles?: number
}

export class Monitors {
  private readonly launcher: Launcher
  private readonly attachPoints: AttachPoints

  constructor (private readonly init: MonitorsInit) {
    this.launcher = new Launcher(init.monitorPath)
    this.attachPoints = new AttachPoints(init.files.runDir)
  }

  open (): void {
    this.attachPoints.open()
  }

  /** A reader has come to an attach point. */
  poke (): void {
    this.attachPoints.poke()
  }

  close (): void {
    this.launcher.stop()
    this.attachPoints.close()
  }

  /**
   * Starts run `run` of workload `name` as `plan` says, its output also to `attacher` if given; resolves with what the
   * monitor reports. A plan execve could not take is refused here, with no monitor.
   */
  async start (name: string, run: number, plan: LaunchPlan, attacher?: Attacher): Promise<LaunchStatus> {
    const refusal = execLimitError(plan.argv, plan.env)
    if (refusal !== undefined) return { error: refusal }
    const point = attacher === undefined ? undefined : this.attachPoints.next()
    const args = monitorArgs({
      // The monitor reserves the exit file's room itself, and says when the disk has none.
      exitFile: this.init.files.exitFile(name, run),
      log: this.init.files.logPath(name),
      logMaxBytes: this.init.logMaxBytes ?? LOG_MAX_BYTES,
      logFiles: this.init.logFiles ?? LOG_FILES,
      cgroupProcs: plan.cgroup === '' ? [] : this.init.cgroups.procsFiles(plan.cgroup),
      overlay: plan.overlay,
      hide: plan.hide ?? [],
      binds: plan.binds ?? [],
      attach: point?.path,
      workdir: plan.workdir,
      adopt: plan.adopt,
      input: plan.input,
      argv: plan.argv
    })
    const launched = this.launcher.launch(args, plan.env)
    // The monitor reads none of the workload's output until its reader has connected.
    if (attacher !== undefined && point !== undefined) attacher.attach({ ...point, run }, launched, this.attachPoints)
    return await launched
  }
}
