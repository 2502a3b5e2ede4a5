// aurae: the command line, by noun and verb.
import { VERSION, defaultPaths } from '../node/config.ts'
import { help, parse } from './args.ts'
import { down } from './commands/down.ts'
import { exec } from './commands/exec.ts'
import { logs } from './commands/logs.ts'
import { peer, peers, proxy, resolve, unpeer } from './commands/peering.ts'
import { ps } from './commands/ps.ts'
import { runCommand } from './commands/run.ts'
import { image, images, login, pull, rmi } from './commands/images.ts'
import { kill, rm, stop } from './commands/stop.ts'
import { status } from './commands/status.ts'
import { up } from './commands/up.ts'
import { context, type Command } from './context.ts'
import { EXIT, report } from './exit.ts'

const COMMANDS: Record<string, Command> = { up, down, status, exec, run: runCommand, ps, logs, stop, kill, rm, proxy, peer, peers, unpeer, resolve, pull, images, rmi, image, login }

const USAGE = `usage: aurae [--sock PATH] COMMAND [ARGS]

Aurae runs workloads on a mesh of machines that trust each other. Commands:
${Object.values(COMMANDS).map(c => `  ${c.spec.name.padEnd(8)} ${c.spec.summary.split('\n')[0]}`).join('\n')}

Run "aurae COMMAND --help" for a command's flags.
Exit codes: 0 ok, 1 refused or failed, 2 bad usage, 3 auraed not running; exec passes on the workload's code.
`

async function flushAndExit (code: number): Promise<never> {
  await new Promise(resolve => process.stdout.write('', resolve))
  process.exit(code)
}

export async function main (argv: string[]): Promise<never> {
  const args = [...argv]
  let sock = defaultPaths().sock
  // --sock may also stand before the command.
  while (args[0]?.startsWith('--sock') === true) {
    const [flag] = args.splice(0, 1)
    sock = flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : args.splice(0, 1)[0] ?? ''
  }
  const verb = args.shift()
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    process.stdout.write(USAGE)
    return await flushAndExit(verb === undefined ? EXIT.usage : EXIT.ok)
  }
  if (verb === 'version' || verb === '--version') {
    process.stdout.write(`aurae ${VERSION}\n`)
    return await flushAndExit(EXIT.ok)
  }
  const command = COMMANDS[verb]
  if (command === undefined) {
    process.stderr.write(`aurae: unknown command "${verb}" (see aurae --help)\n`)
    return await flushAndExit(EXIT.usage)
  }
  try {
    const parsed = parse(command.spec, args)
    if (parsed.flags.help === true) {
      process.stdout.write(help(command.spec))
      return await flushAndExit(EXIT.ok)
    }
    if (typeof parsed.flags.sock === 'string') sock = parsed.flags.sock
    return await flushAndExit(await command.run(parsed, context(sock)))
  } catch (err) {
    const { code, message } = report(err)
    process.stderr.write(`aurae: ${message}\n`)
    return await flushAndExit(code)
  }
}
