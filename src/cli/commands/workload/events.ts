// aurae events (aurae system events): workloads' lifecycle as it happens (created, started, exited, oom, restarted,
// removed) and images pulled, from a time in the past when asked.
import type { ObserveServiceGetEventsResponse } from '../../../client/index.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import { peerArg } from '../../kit/peer-arg.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { write } from '../../kit/io.ts'
import { clean } from '../../kit/output.ts'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `10m` (ago), `2026-12-01T10:00:00Z`, or Unix seconds → ms since the epoch, as Docker's --since and --until take them. */
export function parseWhen (flag: string, text: string, now: number): number {
  const ago = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text)
  if (ago !== null) return now - Number(ago[1]) * UNIT_MS[ago[2]]
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  const ms = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : NaN
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`invalid --${flag} "${text}": expected a duration ago (10m), a time (2026-12-01T10:00:00Z) or Unix seconds`)
  return ms
}

function line (e: ObserveServiceGetEventsResponse): string {
  const attrs = [
    e.image !== '' ? `image=${e.image}` : '',
    e.exitCode !== undefined ? `exitCode=${e.exitCode}` : '',
    e.signal !== '' ? `signal=${e.signal}` : ''
  ].filter(a => a !== '')
  return clean(`${new Date(Number(e.timeMs)).toISOString()} ${e.kind} ${e.type} ${e.name}${attrs.length > 0 ? ` (${attrs.join(', ')})` : ''}`) + '\n'
}

export const events: Command = {
  spec: {
    name: 'events',
    usage: 'events [@PEER] [--since WHEN] [--until WHEN] [--json]',
    summary: 'Streams lifecycle events of workloads (created, started, exited, oom, restarted, removed) and images (pulled).',
    flags: {
      since: { type: 'string', help: 'first the events kept since WHEN: 10m (ago), 2026-12-01T10:00:00Z or Unix seconds', value: 'WHEN' },
      until: { type: 'string', help: 'stop at WHEN (same forms) instead of following', value: 'WHEN' },
      json: { type: 'boolean', help: 'one JSON object per line' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const peer = peerArg(parsed.positionals[0], 'events')
    const now = Date.now()
    const since = parsed.flags.since === undefined ? 0 : parseWhen('since', parsed.flags.since as string, now)
    const until = parsed.flags.until === undefined ? 0 : parseWhen('until', parsed.flags.until as string, now)
    const { io } = ctx
    // Ctrl-C ends a followed stream with 0, as `docker events` does.
    io.onSignal(['SIGINT'], () => io.quit(EXIT.ok))
    for await (const e of ctx.daemon().observe.getEvents({ sinceMs: since, untilMs: until, peer })) {
      const out = parsed.flags.json === true
        ? JSON.stringify({ time: new Date(Number(e.timeMs)).toISOString(), type: e.type, kind: e.kind, name: e.name, image: e.image === '' ? null : e.image, exitCode: e.exitCode ?? null, signal: e.signal === '' ? null : e.signal }) + '\n'
        : line(e)
      await write(io.stdout, out)
    }
    return EXIT.ok
  }
}
