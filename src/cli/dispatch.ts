// Which command a command line names, in either of Docker's forms: `aurae ps` or `aurae workload ls`.
import { login } from './commands/image/login.ts'
import { images } from './commands/image/ls.ts'
import { prune } from './commands/image/prune.ts'
import { pull } from './commands/image/pull.ts'
import { rmi } from './commands/image/rm.ts'
import { down } from './commands/node/down.ts'
import { status } from './commands/node/status.ts'
import { up } from './commands/node/up.ts'
import { peers } from './commands/peer/ls.ts'
import { peer, proxy } from './commands/peer/proxy.ts'
import { resolve } from './commands/peer/resolve.ts'
import { unpeer } from './commands/peer/rm.ts'
import { exec } from './commands/workload/exec.ts'
import { inspect } from './commands/workload/inspect.ts'
import { kill } from './commands/workload/kill.ts'
import { logs } from './commands/workload/logs.ts'
import { ps } from './commands/workload/ls.ts'
import { rm } from './commands/workload/rm.ts'
import { restart, start } from './commands/workload/restart.ts'
import { run } from './commands/workload/run.ts'
import { stats } from './commands/workload/stats.ts'
import { events } from './commands/workload/events.ts'
import { stop } from './commands/workload/stop.ts'
import { df } from './commands/system/df.ts'
import { vmLs } from './commands/vm/ls.ts'
import { cellAllocate } from './commands/cell/allocate.ts'
import { cellFree } from './commands/cell/free.ts'
import { cellLs } from './commands/cell/ls.ts'
import { pkiClient } from './commands/pki/client.ts'
import { pkiInit } from './commands/pki/init.ts'
import { renamed } from './kit/args.ts'
import type { Command } from './kit/context.ts'

/** The commands by their short names. */
const COMMANDS: Record<string, Command> = { up, down, status, exec, run, ps, stats, events, logs, stop, start, restart, inspect, kill, rm, proxy, peer, peers, unpeer, resolve, pull, images, rmi, login }

/** The management commands: a noun, then a verb. */
const NOUNS: Record<string, { summary: string, verbs: Record<string, Command> }> = {
  node: { summary: 'this node\'s daemon', verbs: { up, down, status } },
  workload: { summary: 'executables, containers and VMs', verbs: { run, exec, ls: ps, stats, events, logs, stop, start, restart, inspect, kill, rm } },
  image: { summary: 'images and registries', verbs: { pull, ls: images, rm: rmi, prune, login } },
  peer: { summary: 'trust between nodes (aurae peer TOKEN is aurae proxy TOKEN)', verbs: { proxy, ls: peers, rm: unpeer, resolve } },
  system: { summary: 'the node\'s disk', verbs: { df } },
  vm: { summary: 'micro-VMs (aurae run --vm IMAGE starts one)', verbs: { ls: vmLs } },
  cell: { summary: 'cells of limits that executables share, or VMs of their own (--isolation vm)', verbs: { allocate: cellAllocate, free: cellFree, ls: cellLs } },
  pki: { summary: 'the certificates of the mTLS socket, where the original Aurae\'s clients connect', verbs: { init: pkiInit, client: pkiClient } }
}

/** Each command's management form (the first verb that names it), for help. */
const LONG_NAME = new Map<Command, string>()
for (const [noun, { verbs }] of Object.entries(NOUNS)) {
  for (const [verb, command] of Object.entries(verbs)) if (!LONG_NAME.has(command)) LONG_NAME.set(command, `${noun} ${verb}`)
}

export type Found =
  | { command: Command, args: string[] }
  | { help: string, exitCode: number }
  | { unknown: string }

/** The command `word` and `args` name, with the arguments left for it; help for a bare noun; or what is unknown. */
export function find (word: string, args: string[]): Found {
  const noun = NOUNS[word]
  const verb = args[0]
  if (noun !== undefined && verb !== undefined && Object.hasOwn(noun.verbs, verb)) {
    const command = noun.verbs[verb]
    return { command: { ...command, spec: renamed(command.spec, `${word} ${verb}`) }, args: args.slice(1) }
  }
  if (noun !== undefined && (verb === undefined || verb === '--help' || verb === '-h') && !(verb === undefined && Object.hasOwn(COMMANDS, word))) {
    return { help: nounHelp(word), exitCode: verb === undefined ? 2 : 0 }
  }
  if (Object.hasOwn(COMMANDS, word)) {
    const command = COMMANDS[word]
    const long = LONG_NAME.get(command)
    return { command: long === undefined || word === 'peer' ? command : { ...command, spec: { ...command.spec, also: long } }, args }
  }
  return noun === undefined ? { unknown: `unknown command "${word}" (see aurae --help)` } : { unknown: `unknown ${word} command "${verb}" (see aurae ${word} --help)` }
}

/** A command's summary as one list line: its first sentence, whole, however the summary wraps. */
function firstSentence (summary: string): string {
  const text = summary.replace(/\s*\n\s*/g, ' ')
  return /^.*?[.!?](?=\s|$)/.exec(text)?.[0] ?? text
}

function nounHelp (noun: string): string {
  const rows = Object.entries(NOUNS[noun].verbs).map(([verb, c]) => `  ${verb.padEnd(8)} ${firstSentence(c.spec.summary)}${c.spec.name !== verb && c.spec.name !== `${noun} ${verb}` ? ` (aurae ${c.spec.name})` : ''}`)
  return `usage: aurae ${noun} VERB [ARGS]\n\n${NOUNS[noun].summary[0].toUpperCase()}${NOUNS[noun].summary.slice(1)}. Verbs:\n${rows.join('\n')}\n\nRun "aurae ${noun} VERB --help" for a verb's flags.\n`
}

/** `aurae --help`: every command by its short name, then the management commands. */
export function usage (): string {
  return `usage: aurae [--sock PATH] COMMAND [ARGS]
       aurae [--sock PATH] NOUN VERB [ARGS]

Aurae runs workloads on a mesh of machines that trust each other. Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${firstSentence(c.spec.summary)}`).join('\n')}

Management commands, as Docker has them (the short name in parentheses):
${Object.entries(NOUNS).map(([noun, { verbs }]) => `  ${noun.padEnd(8)} ${Object.entries(verbs).map(([verb, c]) => c.spec.name === verb || c.spec.name === `${noun} ${verb}` ? verb : `${verb} (${c.spec.name})`).join(', ')}`).join('\n')}

Run "aurae COMMAND --help" or "aurae NOUN VERB --help" for a command's flags.
Exit codes: 0 ok, 1 refused or failed, 2 bad usage, 3 auraed not running; exec passes on the workload's code.
`
}
