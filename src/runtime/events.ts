// Lifecycle events of workloads and images, as `aurae events` streams them: the recent ones kept in a ring, new
// ones told to whoever follows.
import { EventEmitter } from 'node:events'
import type { Supervisor } from './supervisor.ts'
import type { WorkloadRecord } from './workload.ts'

export type EventType = 'created' | 'started' | 'exited' | 'oom' | 'restarted' | 'pulled' | 'removed'

export interface LifecycleEvent {
  type: EventType
  name: string
  kind: 'executable' | 'container' | 'image'
  timeMs: number
  exitCode?: number
  signal?: string
  image?: string
}

/** As many events as Docker keeps for `--since`: enough for a day's questions, bounded whatever the churn. */
export const EVENTS_KEPT = 1024

export class EventLog extends EventEmitter<{ event: [LifecycleEvent] }> {
  private readonly ring: LifecycleEvent[] = []
  private next = 0

  constructor (private readonly kept = EVENTS_KEPT) {
    super()
    this.setMaxListeners(0)
  }

  /** Keeps the event (dropping the oldest past the bound) and tells the followers. */
  add (event: LifecycleEvent): void {
    if (this.ring.length < this.kept) this.ring.push(event)
    else this.ring[this.next] = event
    this.next = (this.next + 1) % this.kept
    this.emit('event', event)
  }

  /** The kept events at or after `sinceMs`, oldest first. */
  since (sinceMs: number): LifecycleEvent[] {
    const ordered = this.ring.length < this.kept ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)]
    return ordered.filter(e => e.timeMs >= sinceMs)
  }

  /** Records what the supervisor does to workloads: each record's state change becomes one or two events. */
  watch (supervisor: Supervisor): void {
    const seen = new Map<string, { state: string, run: number }>()
    const of = (rec: WorkloadRecord, type: EventType, extra: Partial<LifecycleEvent> = {}): LifecycleEvent => ({
      type,
      name: rec.spec.name,
      kind: rec.spec.kind,
      timeMs: Date.now(),
      ...(rec.spec.kind === 'container' ? { image: rec.spec.container.image } : {}),
      ...extra
    })
    supervisor.on('change', rec => {
      const name = rec.spec.name
      if (!supervisor.has(name) || supervisor.get(name) !== rec) {
        seen.delete(name)
        this.add(of(rec, 'removed'))
        return
      }
      const before = seen.get(name)
      if (before?.state === rec.state && before.run === rec.run) return
      seen.set(name, { state: rec.state, run: rec.run })
      if (rec.state === 'created' && before === undefined) this.add(of(rec, 'created'))
      else if (rec.state === 'running') this.add(of(rec, rec.restarts > 0 ? 'restarted' : 'started'))
    })
    supervisor.on('exit', rec => {
      const before = seen.get(rec.spec.name)
      seen.set(rec.spec.name, { state: rec.state, run: rec.run })
      // A stop while it waited to restart ends nothing that ran: its run's end was told already.
      if (before !== undefined && before.state === 'restarting' && before.run === rec.run) return
      if (rec.oomKilled) this.add(of(rec, 'oom'))
      this.add(of(rec, 'exited', { ...(rec.exitCode === null ? {} : { exitCode: rec.exitCode }), ...(rec.signal === null ? {} : { signal: rec.signal }) }))
    })
  }
}
