// Lifecycle events of workloads and images, as `aurae events` streams them: the recent ones kept in a ring, new
// ones told to whoever follows.
import { EventEmitter } from 'node:events'
import type { Supervisor } from './supervisor.ts'
import type { WorkloadKind, WorkloadRecord } from './workload.ts'

export type EventType = 'created' | 'started' | 'exited' | 'oom' | 'restarted' | 'pulled' | 'removed'

export interface LifecycleEvent {
  type: EventType
  name: string
  kind: WorkloadKind | 'image'
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

  /**
   * Tells what the supervisor does to workloads. The records' own histories are the one source: each change of
   * state a record notes becomes its events once, and only those noted since the log began watching.
   */
  watch (supervisor: Supervisor): void {
    const cursor = new HistoryCursor()
    const tell = (rec: WorkloadRecord): void => {
      const name = rec.spec.name
      if (!supervisor.has(name) || supervisor.get(name) !== rec) {
        cursor.forget(name)
        this.add(eventOf(rec, 'removed', Date.now()))
        return
      }
      for (const e of cursor.next(rec)) this.add(e)
    }
    supervisor.on('change', tell)
    supervisor.on('exit', tell)
  }
}

/** Where the log is in each record's history: the changes noted since it last looked, as events. */
export class HistoryCursor {
  // Per workload, the last change already told. A record's successive histories share their entries.
  private readonly told = new Map<string, StateChange>()

  /** Only changes from `sinceMs` on are told: a restarted daemon does not tell its records' past again. */
  constructor (private readonly sinceMs = Date.now()) {}

  next (rec: WorkloadRecord): LifecycleEvent[] {
    const history = rec.history ?? []
    const last = this.told.get(rec.spec.name)
    const events: LifecycleEvent[] = []
    for (let i = last === undefined ? 0 : history.indexOf(last) + 1; i < history.length; i++) {
      if (history[i].at >= this.sinceMs) events.push(...eventsOfChange(rec, history[i], history[i - 1]))
    }
    if (history.length > 0) this.told.set(rec.spec.name, history[history.length - 1])
    return events
  }

  forget (name: string): void {
    this.told.delete(name)
  }
}

type StateChange = NonNullable<WorkloadRecord['history']>[number]

function eventOf (rec: WorkloadRecord, type: EventType, timeMs: number, extra: Partial<LifecycleEvent> = {}): LifecycleEvent {
  return {
    type,
    name: rec.spec.name,
    kind: rec.spec.kind,
    timeMs,
    ...(rec.spec.kind !== 'executable' ? { image: rec.spec.container.image } : {}),
    ...extra
  }
}

/**
 * The events of one change of state, as Docker names them: the first `created`; `started`, or `restarted` when its
 * restart policy brought it back; a run's end as `exited` with its code (after `oom` when the kernel killed it).
 * A stop while it waited to restart ends nothing that ran: that run's end was told already (a restart that failed
 * to start is a run of its own, and is told).
 */
function eventsOfChange (rec: WorkloadRecord, change: StateChange, before: StateChange | undefined): LifecycleEvent[] {
  switch (change.state) {
    case 'created':
      return before === undefined ? [eventOf(rec, 'created', change.at)] : []
    case 'running':
      return [eventOf(rec, before?.state === 'restarting' ? 'restarted' : 'started', change.at)]
    case 'restarting':
    case 'exited': {
      if (before?.state === 'restarting' && before.run === change.run) return []
      const exited = eventOf(rec, 'exited', change.at, { ...(rec.exitCode === null ? {} : { exitCode: rec.exitCode }), ...(rec.signal === null ? {} : { signal: rec.signal }) })
      return rec.oomKilled ? [eventOf(rec, 'oom', change.at), exited] : [exited]
    }
  }
}
