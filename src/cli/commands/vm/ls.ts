// aurae vm ls: the node's VMs (workloads of the vm kind) with their machines, or JSON for scripts.
import type { Workload } from '../../../client/messages.ts'
import { peerArg } from '../../kit/peer-arg.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { clean, duration, json, table } from '../../kit/output.ts'
import { workloadJson } from '../workload/ls.ts'

/** A VM as `ps --json` shows a workload, with its machine. */
function vmJson (w: Workload): object {
  const m = w.machine
  return { ...workloadJson(w), vcpus: m?.vcpus ?? null, memoryMb: m?.memoryMb ?? null, accel: m?.accel === '' ? null : m?.accel ?? null, boot: m?.boot === '' ? null : m?.boot ?? null, address: m?.address === '' ? null : m?.address ?? null }
}

export const vmLs: Command = {
  spec: {
    name: 'vm ls',
    usage: 'vm ls [@PEER] [--all] [--json]',
    summary: 'Lists the VMs (aurae run --vm), on this node or on a trusted peer: running ones, or all with --all.',
    flags: {
      all: { type: 'boolean', short: 'a', help: 'include VMs that have ended' },
      json: { type: 'boolean', help: 'print a JSON array' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const peer = peerArg(parsed.positionals[0], 'vm ls')
    const { workloads } = await ctx.daemon().workloads.list({ all: parsed.flags.all === true, peer })
    const vms = workloads.filter(w => w.kind === 'vm')
    if (parsed.flags.json === true) {
      ctx.io.stdout.write(json(vms.map(vmJson)))
      return EXIT.ok
    }
    const now = Date.now()
    const or = (text: string | undefined): string => text === undefined || text === '' ? '-' : clean(text)
    const rows = vms.map(w => [clean(w.name), clean(w.state), String(w.machine?.vcpus ?? '-'), w.machine === undefined ? '-' : `${w.machine.memoryMb}M`,
      or(w.machine?.accel), or(w.machine?.boot), w.state === 'running' ? duration(now - w.startedAtMs) : '-', or(w.machine?.address)])
    ctx.io.stdout.write(table(['NAME', 'STATE', 'VCPUS', 'MEMORY', 'ACCEL', 'BOOT', 'UPTIME', 'ADDRESS'], rows))
    return EXIT.ok
  }
}
