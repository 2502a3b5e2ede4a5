// A small, strict argument parser: flags may stand before or after positionals; `--` ends them.
import { InvalidArgumentError } from '../errors.ts'

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
}

export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
  /** What followed `--`, or undefined if there was no `--`. */
  rest?: string[]
}

/** Flags every command takes. */
export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  sock: { type: 'string', help: 'the daemon\'s socket (env AURAE_SOCK; default /run/aurae.sock)', value: 'PATH' },
  help: { type: 'boolean', short: 'h', help: 'show this help' }
}

export function parse (spec: CommandSpec, argv: string[]): Parsed {
  const flags: Parsed['flags'] = {}
  const all = { ...GLOBAL_FLAGS, ...spec.flags }
  const byShort = new Map(Object.entries(all).filter(([, f]) => f.short !== undefined).map(([name, f]) => [f.short as string, name]))
  const positionals: string[] = []
  let rest: string[] | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      if (spec.passthrough !== true) throw new InvalidArgumentError(`aurae ${spec.name} takes no command after --`)
      rest = argv.slice(i + 1)
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg)
      continue
    }
    let name: string
    let inline: string | undefined
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
      inline = eq < 0 ? undefined : arg.slice(eq + 1)
    } else {
      const short = byShort.get(arg[1])
      if (short === undefined) throw new InvalidArgumentError(`unknown flag ${arg} for aurae ${spec.name} (see aurae ${spec.name} --help)`)
      name = short
      inline = arg.length > 2 ? arg.slice(2).replace(/^=/, '') : undefined
    }
    const flag = all[name]
    if (flag === undefined) throw new InvalidArgumentError(`unknown flag --${name} for aurae ${spec.name} (see aurae ${spec.name} --help)`)
    if (flag.type === 'boolean') {
      if (inline !== undefined) throw new InvalidArgumentError(`flag --${name} takes no value`)
      flags[name] = true
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined) throw new InvalidArgumentError(`flag --${name} needs a value`)
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

/** The --help text of a command. */
export function help (spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.flags, ...GLOBAL_FLAGS }).map(([name, f]) => {
    const left = `${f.short !== undefined ? `-${f.short}, ` : '    '}--${name}${f.value !== undefined ? ` ${f.value}` : ''}`
    return `  ${left.padEnd(26)} ${f.help}`
  })
  return `usage: aurae ${spec.usage}\n\n${spec.summary}\n\nflags:\n${rows.join('\n')}\n`
}
