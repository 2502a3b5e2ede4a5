// What stop and rm share: act on each named workload at once, report each, fail if any failed.
import { InvalidArgumentError } from '../../../errors.ts'
import { assertWorkloadTarget } from '../../../names/parse.ts'
import type { Io } from '../../kit/io.ts'
import { EXIT, report } from '../../kit/exit.ts'
import { progress } from '../../kit/output.ts'

const DOING: Record<string, string> = { stop: 'stopping', rm: 'removing', kill: 'signalling', start: 'starting', restart: 'restarting' }

/** Runs `act` for every name at once, then prints, in the order given, each name done or its error. */
export async function each (io: Io, names: string[], verb: string, act: (name: string) => Promise<void>): Promise<number> {
  if (names.length === 0) throw new InvalidArgumentError(`missing workload name: aurae ${verb} NAME...`)
  names.forEach(assertWorkloadTarget)
  const p = progress(io.stderr, `${DOING[verb] ?? verb} ${names.join(', ')}`)
  const results = await Promise.allSettled(names.map(act))
  p.done()
  let code: number = EXIT.ok
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      io.stdout.write(names[i] + '\n')
      return
    }
    const { code: failed, message } = report(r.reason)
    io.stderr.write(`aurae: ${message}\n`)
    code = Math.max(code, failed)
  })
  return code
}
