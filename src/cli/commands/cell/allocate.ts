// aurae cell allocate: a named cell of limits that several executables share; with --isolation vm, a VM of its own
// (a nested node of the cell's name, whose auraed runs the cell's workloads).
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import { limitsOf } from '../workload/start.ts'

export const cellAllocate: Command = {
  spec: {
    name: 'cell allocate',
    usage: 'cell allocate NAME [--isolation vm] [--cpus N] [--memory SIZE] [--pids N]',
    summary: 'Allocates the cell NAME: a cgroup whose limits its executables share (aurae exec --cell NAME …).\nWith --isolation vm the cell is a VM of its own, a nested node: its workloads run inside it\n(aurae exec --cell NAME …, or NAME@CELL), --cpus and --memory are its vCPUs and memory; aurae waits\nuntil its auraed answers.',
    flags: {
      isolation: { type: 'string', help: 'vm: the cell is a VM of its own', value: 'KIND' },
      cpus: { type: 'string', help: 'CPU limit in cores (a VM: its vCPUs)', value: 'N' },
      memory: { type: 'string', short: 'm', help: 'memory limit, e.g. 512M', value: 'SIZE' },
      pids: { type: 'string', help: 'most processes at once', value: 'N' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const name = parsed.positionals[0]
    if (name === undefined) throw new InvalidArgumentError('missing cell name: aurae cell allocate NAME')
    const isolation = parsed.flags.isolation as string | undefined ?? ''
    if (isolation !== '' && isolation !== 'vm') throw new InvalidArgumentError(`invalid --isolation "${isolation}": expected vm`)
    const limits = limitsOf(parsed.flags)
    if (isolation === 'vm' && ctx.io.stderr.isTTY === true) ctx.io.stderr.write(`aurae: booting ${name}'s VM and waiting for its auraed…\n`)
    const { cell } = await ctx.daemon().cells.allocate({ name, limits, isolation })
    ctx.io.stdout.write(`${cell?.name ?? name}\n`)
    return EXIT.ok
  }
}
