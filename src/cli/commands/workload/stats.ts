// aurae stats (aurae workload stats): live CPU, memory and processes of running workloads, from their cgroups.
import { setTimeout as sleep } from 'node:timers/promises'
import type { WorkloadStats } from '../../../client/index.ts'
import { formatBytes } from '../../../common/limits.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { write } from '../../kit/io.ts'
import { clean, json, table } from '../../kit/output.ts'
import { oneNode } from './where.ts'

/** CPU % needs two readings: this far apart, as Docker's first `stats` frame. */
const SAMPLE_MS = 1000

interface Row {
  name: string
  cpuPercent: number
  memoryBytes: number
  memoryLimitBytes: number | null
  memoryPercent: number | null
  pids: number
}

/** One frame: each workload of `now`, its CPU % over the time since `before` (100 % is one core busy). */
export function rows (before: WorkloadStats[], now: WorkloadStats[]): Row[] {
  const prior = new Map(before.map(s => [s.name, s]))
  return now.map(s => {
    const p = prior.get(s.name)
    const elapsedNs = p === undefined ? 0 : (s.sampledAtMs - p.sampledAtMs) * 1e6
    const used = p === undefined ? 0 : s.cpuUsageNs - p.cpuUsageNs
    const limit = s.memoryLimitBytes > 0 ? s.memoryLimitBytes : null
    return {
      name: s.name,
      cpuPercent: elapsedNs > 0 && used > 0 ? Math.round(used / elapsedNs * 10_000) / 100 : 0,
      memoryBytes: s.memoryBytes,
      memoryLimitBytes: limit,
      memoryPercent: limit === null ? null : Math.round(s.memoryBytes / limit * 10_000) / 100,
      pids: s.pids
    }
  })
}

function render (frame: Row[]): string {
  return table(['NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'], frame.map(r => [
    clean(r.name),
    `${r.cpuPercent.toFixed(2)}%`,
    `${formatBytes(r.memoryBytes)} / ${r.memoryLimitBytes === null ? '-' : formatBytes(r.memoryLimitBytes)}`,
    r.memoryPercent === null ? '-' : `${r.memoryPercent.toFixed(2)}%`,
    String(r.pids)
  ]))
}

export const stats: Command = {
  spec: {
    name: 'stats',
    usage: 'stats [NAME...] [@PEER] [--no-stream] [--json]',
    summary: 'Shows live CPU, memory and processes of running workloads, refreshed every second.',
    flags: {
      'no-stream': { type: 'boolean', help: 'print one reading and exit' },
      json: { type: 'boolean', help: 'JSON: an array per reading (one line each when streaming)' }
    },
    maxPositionals: 1024
  },
  async run (parsed, ctx) {
    const { peer, names } = oneNode('stats', parsed.positionals)
    const { io } = ctx
    const d = ctx.daemon()
    const read = async (): Promise<WorkloadStats[]> => (await d.workloads.stats({ names, peer })).stats
    const once = parsed.flags['no-stream'] === true
    const asJson = parsed.flags.json === true
    io.onSignal(['SIGINT'], () => io.quit(EXIT.ok))
    let before = await read()
    for (;;) {
      await sleep(SAMPLE_MS)
      const now = await read()
      const frame = rows(before, now)
      before = now
      if (once) {
        await write(io.stdout, asJson ? json(frame) : render(frame))
        return EXIT.ok
      }
      const clear = io.stdout.isTTY === true ? '\x1b[2J\x1b[H' : ''
      await write(io.stdout, asJson ? JSON.stringify(frame) + '\n' : clear + render(frame))
    }
  }
}
