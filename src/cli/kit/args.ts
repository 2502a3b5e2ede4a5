// Commands' flags and arguments: the spec of each command, its parsing and its --help text.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { InvalidArgumentError } from '../../errors.ts'

export interface FlagSpec {
  type: 'string' | 'boolean' | 'list'
  short?: string
  /** Shown in --help. */
  help: string
  value?: string
}

export interface CommandSpec {
  name: string
  usage: string
  summary: string
  flags: Record<string, FlagSpec>
  /** Most positionals accepted (Infinity for a list). */
  maxPositionals: number
  /** Everything after `--` is kept as the command. */
  passthrough?: boolean
  /** The command's other name (`workload ls` for `ps`, and back), shown in --help. */
  also?: string
}

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
  /** What followed `--`, or undefined if there was no `--`. */
  rest?: string[]
}

/** Flags every command takes. */
const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  sock: { type: 'string', help: 'the daemon\'s socket (env AURAE_SOCK; default /run/aurae.sock)', value: 'PATH' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

/** Reads a command's arguments. node:util's parseArgs splits them (flags before or after positionals, `-eK=V`,
 * `--flag=value`, `--`); it runs lenient so that unknown flags and missing values are refused here, in our words. */
export function parse (spec: CommandSpec, argv: string[]): Parsed {
  const all = { ...GLOBAL_FLAGS, ...spec.flags }
  const options: NonNullable<ParseArgsConfig['options']> = {}
  for (const [name, f] of Object.entries(all)) {
    options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string', multiple: f.type === 'list', ...(f.short === undefined ? {} : { short: f.short }) }
  }
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true })
  const flags: Parsed['flags'] = {}
  const positionals: string[] = []
  let rest: string[] | undefined
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      if (spec.passthrough !== true) throw new InvalidArgumentError(`aurae ${spec.name} takes no command after --`)
      rest = argv.slice(token.index + 1)
      break
    }
    if (token.kind === 'positional') {
      positionals.push(token.value)
      continue
    }
    const { name } = token
    const flag = all[name]
    if (flag === undefined) throw new InvalidArgumentError(`unknown flag ${token.rawName} for aurae ${spec.name} (see aurae ${spec.name} --help)`)
    if (flag.type === 'boolean') {
      if (token.value !== undefined) throw new InvalidArgumentError(`flag --${name} takes no value`)
      flags[name] = true
      continue
    }
    if (token.value === undefined) throw new InvalidArgumentError(`flag --${name} needs a value`)
    // `-m=64M` means 64M, as in Docker's parser.
    const value = token.inlineValue === true && !token.rawName.startsWith('--') ? token.value.replace(/^=/, '') : token.value
    if (flag.type === 'list') flags[name] = [...(flags[name] as string[] | undefined ?? []), value]
    else flags[name] = value
  }
  if (positionals.length > spec.maxPositionals) {
    const extra = positionals[spec.maxPositionals]
    throw new InvalidArgumentError(spec.passthrough === true
      ? `unexpected argument "${extra}" (put the command after --)`
      : `unexpected argument "${extra}" for aurae ${spec.name}`)
  }
  return { flags, positionals, rest }
}

/** The spec of a command called by another name: its usage and its messages say that name. */
export function renamed (spec: CommandSpec, name: string): CommandSpec {
  const usage = spec.usage.replace(new RegExp(`(^|\\|  )${spec.name}(?= |$)`, 'g'), `$1${name}`)
  return { ...spec, name, usage, also: spec.name === name ? undefined : spec.name }
}

/** The --help text of a command. */
export function help (spec: CommandSpec): string {
  const also = spec.also === undefined ? '' : `   or: aurae ${renamed(spec, spec.also).usage}\n`
  const rows = Object.entries({ ...spec.flags, ...GLOBAL_FLAGS }).map(([name, f]) => {
    const left = `${f.short !== undefined ? `-${f.short}, ` : '    '}--${name}${f.value !== undefined ? ` ${f.value}` : ''}`
    return `  ${left.padEnd(26)} ${f.help}`
  })
  return `usage: aurae ${spec.usage}\n${also}\n${spec.summary}\n\nflags:\n${rows.join('\n')}\n`
}
