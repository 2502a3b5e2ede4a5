// aurae stop, aurae kill and aurae rm: act on each named workload, report each, fail if any failed.
import { constants } from 'node:os'
import { InvalidArgumentError } from '../../errors.ts'
import { assertWorkloadTarget } from '../../names/parse.ts'
import type { Command, Context } from '../context.ts'
import { EXIT, report } from '../exit.ts'
import { progress } from '../output.ts'

/** Runs `act` for every name at once, then prints, in the order given, each name done or its error. */
async function each (names: string[], verb: string, act: (name: string) => Promise<void>): Promise<number> {
  if (names.length === 0) throw new InvalidArgumentError(`missing workload name: aurae ${verb} NAME...`)
  names.forEach(assertWorkloadTarget)
  const p = progress(`${{ stop: 'stopping', kill: 'signalling', rm: 'removing' }[verb] ?? verb} ${names.join(', ')}`)
  const results = await Promise.allSettled(names.map(act))
  p.done()
  let code: number = EXIT.ok
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      process.stdout.write(names[i] + '\n')
      return
    }
    const { code: failed, message } = report(r.reason)
    process.stderr.write(`aurae: ${message}\n`)
    code = Math.max(code, failed)
  })
  return code
}

export const stop: Command = {
  spec: {
    name: 'stop',
    usage: 'stop NAME... [--timeout SECONDS]',
    summary: 'Stops workloads, all at once: SIGTERM, then SIGKILL to the whole cell after the timeout.',
    flags: { timeout: { type: 'string', short: 't', help: 'seconds to wait before SIGKILL (default 10)', value: 'S' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx: Context) {
    const t = parsed.flags.timeout as string | undefined
    if (t !== undefined && !/^\d+$/.test(t)) throw new InvalidArgumentError(`invalid --timeout "${t}": expected whole seconds`)
    return await each(parsed.positionals, 'stop', async name => {
      await ctx.daemon().workloads.stop({ name, timeoutSeconds: t === undefined ? undefined : Number(t) })
    })
  }
}

export const rm: Command = {
  spec: {
    name: 'rm',
    usage: 'rm NAME... [--force]',
    summary: 'Removes ended workloads with their logs; --force stops running ones first.',
    flags: { force: { type: 'boolean', short: 'f', help: 'stop the workload (SIGKILL) if it runs' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    return await each(parsed.positionals, 'rm', async name => {
      const d = ctx.daemon()
      await d.workloads.remove({ name, force: parsed.flags.force === true })
    })
  }
}

/** `KILL`, `sigkill`, `SIGKILL` and `9` all name SIGKILL, as docker kill takes them. */
export function signalName (text: string): string {
  const byNumber = Object.entries(constants.signals).find(([, n]) => String(n) === text)
  if (byNumber !== undefined) return byNumber[0]
  const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`
  if (!(name in constants.signals)) throw new InvalidArgumentError(`unknown signal "${text}"`)
  return name
}

export const kill: Command = {
  spec: {
    name: 'kill',
    usage: 'kill NAME... [--signal SIG]',
    summary: 'Sends a signal to running workloads (SIGKILL unless --signal names another), the way their kind takes one.',
    flags: { signal: { type: 'string', short: 's', help: 'the signal: a name (TERM, SIGUSR1) or a number (default KILL)', value: 'SIG' } },
    maxPositionals: Infinity
  },
  async run (parsed, ctx) {
    const signal = signalName((parsed.flags.signal as string | undefined) ?? 'KILL')
    return await each(parsed.positionals, 'kill', async name => {
      await ctx.daemon().workloads.signal({ name, signal })
    })
  }
}
