// aurae ps (aurae workload ls): the node's workloads as a table, or JSON for scripts.
import type { Container, Workload } from '../../../client/messages.ts'
import { familiarImageName, parseImageReference } from '../../../common/image-reference.ts'
import { exitCodeOfSignal } from '../../../common/signals.ts'
import { peerArg } from '../../kit/peer-arg.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { clean, duration, json, painter, table } from '../../kit/output.ts'

/** A container's or a VM's image and options. */
function imageOptions (w: Workload): Container | undefined {
  return w.spec?.container ?? w.spec?.vm
}

/** The JSON shape scripts rely on: name, kind, image, ports, state, pid, exitCode, signal, restarts, and more. */
export function workloadJson (w: Workload): object {
  const iso = (ms: number): string | null => ms > 0 ? new Date(ms).toISOString() : null
  return {
    name: w.name,
    kind: w.kind,
    image: imageOptions(w)?.image ?? null,
    ports: imageOptions(w)?.ports ?? [],
    state: w.state,
    pid: w.pid === 0 ? null : w.pid,
    exitCode: w.exitCode ?? null,
    signal: w.signal === '' ? null : w.signal,
    restarts: w.restarts,
    oomKilled: w.oomKilled,
    error: w.error === '' ? null : w.error,
    command: w.spec?.executable?.command ?? [],
    restart: w.spec?.restart ?? 'no',
    cell: w.spec?.cell === '' ? null : w.spec?.cell,
    limits: w.spec?.limits,
    createdAt: iso(w.createdAtMs),
    startedAt: iso(w.startedAtMs),
    finishedAt: iso(w.finishedAtMs)
  }
}

/** The image as people type it (`nginx:latest`); a reference the peer sent that does not parse is shown as it came. */
export function imageText (w: Workload): string {
  const image = imageOptions(w)?.image
  if (image === undefined || image === '') return '-'
  try {
    return familiarImageName(parseImageReference(image))
  } catch {
    return image
  }
}

/** Published ports as Docker shows them: `0.0.0.0:8080->80/tcp, …`. */
function portsText (w: Workload): string {
  const ports = imageOptions(w)?.ports ?? []
  return ports.length === 0 ? '-' : ports.map(p => `${p.hostIp === '' ? '0.0.0.0' : p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ')
}

const STATE_COLOUR = { running: 'green', restarting: 'yellow', exited: 'dim', created: 'dim' } as const

function exitText (w: Workload): string {
  if (w.state === 'running' || w.state === 'created') return '-'
  // The OOM killer's SIGKILL reads as a container's exit does (137), whatever the kind: one form.
  if (w.oomKilled) return `${w.exitCode ?? exitCodeOfSignal('SIGKILL')} (oom)`
  const why = w.error !== '' && w.exitCode === undefined ? ' (?)' : ''
  return (w.signal !== '' ? w.signal : String(w.exitCode ?? '?')) + why
}

export const ps: Command = {
  spec: {
    name: 'ps',
    usage: 'ps [@PEER] [--all] [--json]',
    summary: 'Lists workloads, on this node or on a trusted peer: running ones, or all with --all.',
    flags: {
      all: { type: 'boolean', short: 'a', help: 'include workloads that have ended' },
      json: { type: 'boolean', help: 'print a JSON array' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const peer = peerArg(parsed.positionals[0], 'ps')
    const { stdout } = ctx.io
    const paint = painter(stdout, ctx.io.env)
    const d = ctx.daemon()
    const { workloads } = await d.workloads.list({ all: parsed.flags.all === true, peer })
    if (parsed.flags.json === true) {
      stdout.write(json(workloads.map(workloadJson)))
      return EXIT.ok
    }
    const now = Date.now()
    // A peer's workloads (`ps @emily`) are described by the peer: clean its text.
    const rows = workloads.map(w => [
      clean(w.name),
      clean(w.kind),
      clean(imageText(w)),
      paint(clean(w.state), STATE_COLOUR[w.state as keyof typeof STATE_COLOUR] ?? 'dim'),
      w.pid === 0 ? '-' : String(w.pid),
      clean(exitText(w)),
      w.state === 'running' ? duration(now - w.startedAtMs) : '-',
      String(w.restarts),
      clean(portsText(w))
    ])
    stdout.write(table(['NAME', 'KIND', 'IMAGE', 'STATE', 'PID', 'EXIT', 'UPTIME', 'RESTARTS', 'PORTS'], rows))
    return EXIT.ok
  }
}
