// aurae logs (aurae workload logs): a workload's stdout and stderr (a VM's console with --console), optionally followed.
import { InvalidArgumentError } from '../../../errors.ts'
import { assertWorkloadTarget } from '../../../names/parse.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'
import { write } from '../../kit/io.ts'

export const logs: Command = {
  spec: {
    name: 'logs',
    usage: 'logs NAME [-f] [--tail N] [-t] [--console]  |  logs --daemon [-f] [--tail N]',
    summary: 'Prints a workload\'s output (stdout to stdout, stderr to stderr), or auraed\'s own log as JSON lines.',
    flags: {
      daemon: { type: 'boolean', help: 'auraed\'s own structured log instead of a workload\'s' },
      follow: { type: 'boolean', short: 'f', help: 'keep printing new output until the workload ends' },
      tail: { type: 'string', short: 'n', help: 'only the last N lines', value: 'N' },
      timestamps: { type: 'boolean', short: 't', help: 'prefix each line with its time' },
      console: { type: 'boolean', help: 'a VM\'s serial console (its kernel\'s and its init\'s lines) instead of its output' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const tailText = parsed.flags.tail as string | undefined
    if (tailText !== undefined && !/^\d+$/.test(tailText)) throw new InvalidArgumentError(`invalid --tail "${tailText}": expected a whole number`)
    const tail = tailText === undefined ? undefined : Number(tailText)
    const { io } = ctx
    const d = ctx.daemon()
    // Ctrl-C ends aurae logs with 0, as the end of the output does.
    const interrupted = (): void => { io.onSignal(['SIGINT'], () => io.quit(EXIT.ok)) }
    if (parsed.flags.daemon === true) {
      if (parsed.positionals.length > 0) throw new InvalidArgumentError('aurae logs --daemon takes no workload name')
      if (parsed.flags.console === true) throw new InvalidArgumentError('--console is a VM\'s: aurae logs --console NAME')
      interrupted()
      for await (const rec of d.observe.getDaemonLogs({ follow: parsed.flags.follow === true, tail })) await write(io.stdout, rec.json + '\n')
      return EXIT.ok
    }
    const name = parsed.positionals[0]
    if (name === undefined) throw new InvalidArgumentError('missing workload name: aurae logs NAME')
    assertWorkloadTarget(name)
    interrupted()
    const timestamps = parsed.flags.timestamps === true
    const console = parsed.flags.console === true
    if (console && timestamps) throw new InvalidArgumentError('-t does not go with --console: the console\'s lines carry the guest\'s own times')
    // A long line comes in pieces: its time goes before its first piece only.
    const midLine = { stdout: false, stderr: false }
    for await (const rec of d.observe.getWorkloadLogs({ name, follow: parsed.flags.follow === true, tail, timestamps, console })) {
      const stream = rec.stream === 'stderr' ? 'stderr' : 'stdout'
      const data = timestamps && !midLine[stream] ? Buffer.concat([Buffer.from(rec.time + ' '), rec.data]) : rec.data
      if (rec.data.length > 0) midLine[stream] = rec.data[rec.data.length - 1] !== 10
      await write(io[stream], data)
    }
    return EXIT.ok
  }
}
