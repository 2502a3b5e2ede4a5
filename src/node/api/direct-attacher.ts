// Attached output that a caller on this machine reads itself (WorkloadServiceRunRequest.direct_output),
// as a container engine's client reads its shim's pipes: the daemon does not carry the output, it
// says where each run's monitor listens, once it does, and then how the workload ended.
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import type { Attacher, AttachPoint, AttachPoints } from '../../runtime/attach.ts'
import type { Supervisor } from '../../runtime/supervisor.ts'
import type { WorkloadRecord } from '../../runtime/workload.ts'
import type { WorkloadServiceRunResponse } from '../../gen/aurae/workloads/v0/workloads.ts'
import { exitToProto } from './convert.ts'

type Send = (m: WorkloadServiceRunResponse) => Promise<void>

/** Tells the caller where each run's monitor listens, in run order; every event goes through say(). */
export class DirectAttacher implements Attacher {
  private told: Promise<unknown> = Promise.resolve()
  private gone = false

  constructor (private readonly send: Send) {}

  attach (point: AttachPoint, launched: Promise<unknown>, points: AttachPoints): void {
    this.told = this.told.then(async () => {
      // Said once the monitor listens, so the caller connects at its first try.
      if (!await points.until(() => existsSync(point.path), launched)) return
      if (!this.gone) {
        try {
          await this.send({ attach: { address: point.path, run: point.run } })
          return
        } catch {
          this.gone = true
        }
      }
      letGo(point.address)
    })
  }

  /** Sends `m` after every event before it. */
  async say (m: WorkloadServiceRunResponse): Promise<void> {
    const sent = this.told.then(async () => await this.send(m))
    this.told = sent.catch(() => {})
    await sent
  }

  /** The caller has gone: the runs to come are not announced, and their monitors carry on with their logs alone. */
  close (): void {
    this.gone = true
  }
}

/** Waits until the workload has exited for good, then says how, after every run's attach event (the caller
 * reads each run to its end before it acts on the exit). */
export async function attachDirect (supervisor: Supervisor, rec: WorkloadRecord, output: DirectAttacher, signal: AbortSignal): Promise<void> {
  const name = rec.spec.name
  try {
    await supervisor.waitExit(name, signal)
  } catch (err) {
    // A caller that went away is not a failure of the workload's.
    if (signal.aborted) return
    throw err
  }
  const end = supervisor.has(name) ? supervisor.get(name) : rec
  await output.say({ exit: exitToProto(end) })
}

/** Connects to a monitor no one will read and lets go at once: it starts its workload without waiting. */
function letGo (address: string): void {
  const socket = connect(address)
  socket.on('connect', () => socket.destroy())
  socket.on('error', () => {})
}
