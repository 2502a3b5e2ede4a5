import { describe, expect, it } from 'vitest'
import { EventLog, HistoryCursor, type LifecycleEvent } from '../../src/runtime/events.ts'
import { createdRecord, enterState, type WorkloadRecord } from '../../src/runtime/workload.ts'

const event = (i: number): LifecycleEvent => ({ type: 'started', name: `w${i}`, kind: 'executable', timeMs: 1000 + i })

describe('the event log', () => {
  it('keeps only the newest events past its bound, oldest first', () => {
    const log = new EventLog(3)
    for (let i = 0; i < 5; i++) log.add(event(i))
    expect(log.since(0).map(e => e.name)).toEqual(['w2', 'w3', 'w4'])
    expect(log.since(1004).map(e => e.name)).toEqual(['w4'])
  })

  it('tells followers of each event as it is added', () => {
    const log = new EventLog()
    const told: string[] = []
    log.on('event', e => told.push(e.name))
    log.add(event(1))
    expect(told).toEqual(['w1'])
  })

  describe('events of a record\'s changes of state', () => {
    const record = (): WorkloadRecord => createdRecord({ kind: 'executable', name: 'job', command: ['true'], env: {}, workdir: '/', limits: {}, restart: 'always', cell: '' } as any)
    /** Each step changes the record, then the cursor is asked, as the supervisor's notifications ask it. */
    const told = (rec: WorkloadRecord, steps: Array<() => void>, cursor = new HistoryCursor(0)): string[] => [undefined, ...steps].flatMap(step => {
      step?.()
      return cursor.next(rec).map(e => e.exitCode === undefined ? e.type : `${e.type} ${e.exitCode}`)
    })
    const ends = (rec: WorkloadRecord, exitCode: number, then: 'exited' | 'restarting') => (): void => {
      rec.run++
      enterState(rec, 'running')
      rec.exitCode = exitCode
      enterState(rec, then)
    }

    it('tells a run\'s start and end, a policy\'s restart as restarted, and a manual start as started', () => {
      const rec = record()
      expect(told(rec, [ends(rec, 1, 'restarting'), ends(rec, 0, 'exited'), () => enterState(rec, 'created'), ends(rec, 3, 'exited')]))
        .toEqual(['created', 'started', 'exited 1', 'restarted', 'exited 0', 'started', 'exited 3'])
    })

    it('tells nothing for a stop while it waited to restart, but tells a restart that failed to start', () => {
      const rec = record()
      expect(told(rec, [ends(rec, 1, 'restarting'), () => enterState(rec, 'exited')])).toEqual(['created', 'started', 'exited 1'])
      const failing = record()
      const failsToStart = (): void => {
        failing.run++
        failing.exitCode = 125
        enterState(failing, 'restarting')
      }
      expect(told(failing, [ends(failing, 1, 'restarting'), failsToStart])).toEqual(['created', 'started', 'exited 1', 'exited 125'])
    })

    it('tells an OOM kill before the end it caused', () => {
      const rec = record()
      rec.oomKilled = true
      expect(told(rec, [ends(rec, 137, 'exited')])).toEqual(['created', 'started', 'oom', 'exited 137'])
    })

    it('does not tell again what happened before it began to look', () => {
      const rec = record()
      ends(rec, 0, 'exited')()
      const cursor = new HistoryCursor(Date.now() + 1000)
      expect(cursor.next(rec)).toEqual([])
    })
  })
})
