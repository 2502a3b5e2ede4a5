import { describe, expect, it } from 'vitest'
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, STABLE_RUN_MS, afterRun, type RunOutcome } from '../../src/runtime/restart-policy.ts'

const run = (o: Partial<RunOutcome>): RunOutcome => ({ policy: 'always', wanted: true, stopping: false, error: '', exitCode: 0, startedAt: 0, finishedAt: 1000, streak: 0, ...o })

describe('the restart policy', () => {
  it('restarts as Docker does: never for no, after a failure for on-failure, after any end for always', () => {
    const decisions = (['no', 'on-failure', 'always'] as const).flatMap(policy => [0, 1, null].map(exitCode => ({ policy, exitCode, restart: afterRun(run({ policy, exitCode })).restart })))
    expect(decisions).toEqual([
      { policy: 'no', exitCode: 0, restart: false },
      { policy: 'no', exitCode: 1, restart: false },
      { policy: 'no', exitCode: null, restart: false },
      { policy: 'on-failure', exitCode: 0, restart: false },
      { policy: 'on-failure', exitCode: 1, restart: true },
      // Killed by a signal: no exit code, a failure.
      { policy: 'on-failure', exitCode: null, restart: true },
      { policy: 'always', exitCode: 0, restart: true },
      { policy: 'always', exitCode: 1, restart: true },
      { policy: 'always', exitCode: null, restart: true }
    ])
  })

  it('does not restart a workload that was stopped, one that never ran, or anything while the node goes down', () => {
    expect(afterRun(run({ wanted: false })).restart).toBe(false)
    expect(afterRun(run({ error: 'no such file: /bin/nope' })).restart).toBe(false)
    expect(afterRun(run({ stopping: true })).restart).toBe(false)
  })

  it('doubles the wait with each quick end in a row, up to the cap, and starts over after a stable run', () => {
    const waits: number[] = []
    let streak = 0
    for (let i = 0; i < 10; i++) {
      const next = afterRun(run({ startedAt: 0, finishedAt: 50, streak }))
      if (!next.restart) throw new Error('expected a restart')
      waits.push(next.delayMs)
      streak = next.streak
    }
    expect(waits).toEqual([100, 200, 400, 800, 1600, 3200, 6400, BACKOFF_MAX_MS, BACKOFF_MAX_MS, BACKOFF_MAX_MS])
    expect(afterRun(run({ startedAt: 0, finishedAt: STABLE_RUN_MS, streak }))).toEqual({ restart: true, streak: 0, delayMs: BACKOFF_BASE_MS })
  })
})
