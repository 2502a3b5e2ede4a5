// aurae inspect (aurae workload inspect): each named workload's whole record as JSON, as docker inspect.
import type { Workload } from '../../../client/index.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import { assertWorkloadTarget } from '../../../names/parse.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT, report } from '../../kit/exit.ts'

export const inspect: Command = {
  spec: {
    name: 'inspect',
    usage: 'inspect NAME...',
    summary: 'Prints workloads\' records as a JSON array: spec (image, command, ports, volumes, limits), pids and state history.',
    flags: {},
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    const names = parsed.positionals
    if (names.length === 0) throw new InvalidArgumentError('missing workload name: aurae inspect NAME...')
    names.forEach(assertWorkloadTarget)
    const results = await Promise.allSettled(names.map(async name => (await ctx.daemon().workloads.inspect({ name })).workload))
    const found: Workload[] = []
    let code: number = EXIT.ok
    for (const r of results) {
      if (r.status === 'fulfilled' && r.value !== undefined) {
        found.push(r.value)
        continue
      }
      const { code: failed, message } = report(r.status === 'rejected' ? r.reason : new Error('the node sent no record'))
      ctx.io.stderr.write(`aurae: ${message}\n`)
      code = Math.max(code, failed)
    }
    ctx.io.stdout.write(JSON.stringify(found, null, 2) + '\n')
    return code
  }
}
