// aurae cell ls: the allocated cells, with their isolation, limits and executables; or JSON for scripts.
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { clean, json, table } from '../../kit/output.ts'

export const cellLs: Command = {
  spec: {
    name: 'cell ls',
    usage: 'cell ls [--json]',
    summary: 'Lists the allocated cells: NAME ISOLATION CPUS MEMORY PIDS EXECUTABLES.',
    flags: { json: { type: 'boolean', help: 'one JSON array' } },
    maxPositionals: 0
  },
  async run (parsed, ctx) {
    const { cells } = await ctx.daemon().cells.list({})
    if (parsed.flags.json === true) {
      ctx.io.stdout.write(json(cells.map(c => ({ name: c.name, isolation: c.isolation === '' ? 'cgroup' : c.isolation, limits: c.limits, executables: c.executables, createdAt: new Date(c.createdAtMs).toISOString() }))))
      return EXIT.ok
    }
    const or = (n: number | undefined, text: string): string => n === undefined || n === 0 ? '-' : text
    const rows = cells.map(c => [clean(c.name), c.isolation === '' ? 'cgroup' : clean(c.isolation), or(c.limits?.cpus, String(c.limits?.cpus)),
      or(c.limits?.memoryBytes, `${Math.round((c.limits?.memoryBytes ?? 0) / 2 ** 20)}M`), or(c.limits?.pids, String(c.limits?.pids)), c.executables.length === 0 ? '-' : c.executables.map(clean).join(',')])
    ctx.io.stdout.write(table(['NAME', 'ISOLATION', 'CPUS', 'MEMORY', 'PIDS', 'EXECUTABLES'], rows))
    return EXIT.ok
  }
}
