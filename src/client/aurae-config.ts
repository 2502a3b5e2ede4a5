// The original Aurae's client config (`~/.aurae/config`): where a client's certificate, key and CA are, and the
// node's mTLS socket. TOML, of which only what the original writes is read: `[auth]` ca_crt, client_crt, client_key
// and `[system]` socket, each a string; other keys are ignored, as the original's parser ignores them.
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'

export interface AuraeConfig {
  /** The file it was read from. */
  path: string
  caCrt: string
  clientCrt: string
  clientKey: string
  /** The mTLS socket's path (or, as the original allows, a `host:port`). */
  socket: string
}

const FIELDS = {
  auth: { ca_crt: 'caCrt', client_crt: 'clientCrt', client_key: 'clientKey' },
  system: { socket: 'socket' }
} as const

type Field = 'caCrt' | 'clientCrt' | 'clientKey' | 'socket'

const home = (env: NodeJS.ProcessEnv): string => env.HOME ?? homedir()

/** ~/.aurae/config, /etc/aurae/config, /var/lib/aurae/config, in that order (HOME from env). */
export function configPaths (env: NodeJS.ProcessEnv = process.env): string[] {
  return [join(home(env), '.aurae', 'config'), '/etc/aurae/config', '/var/lib/aurae/config']
}

/** The first config file that exists, parsed; NotFoundError naming the paths looked at when none does. */
export function findAuraeConfig (env: NodeJS.ProcessEnv = process.env): AuraeConfig {
  const paths = configPaths(env)
  const path = paths.find(p => existsSync(p))
  if (path === undefined) throw new NotFoundError(`no Aurae client config in ${paths.join(', ')}; make one with: aurae pki client NAME`)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  return parseAuraeConfig(text, path, env)
}

/** A TOML string's value: basic ("…", with escapes) or literal ('…'); undefined when `text` is not one string alone. */
function stringValue (text: string): string | undefined {
  const literal = /^'([^'\n]*)'\s*(#.*)?$/.exec(text)
  if (literal !== null) return literal[1]
  const basic = /^"((?:[^"\\\n]|\\.)*)"\s*(#.*)?$/.exec(text)
  if (basic === null) return undefined
  const escapes: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' }
  let bad = false
  const value = basic[1].replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, e: string) => {
    if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), 16))
    if (escapes[e] === undefined) bad = true
    return escapes[e] ?? ''
  })
  return bad ? undefined : value
}

/**
 * Parses the original's TOML subset ([auth] ca_crt, client_crt, client_key; [system] socket); `~/` expanded;
 * InvalidArgumentError (one line, with the file and line) on anything else malformed.
 */
export function parseAuraeConfig (text: string, path: string, env: NodeJS.ProcessEnv = process.env): AuraeConfig {
  const found: Partial<Record<Field, string>> = {}
  let section = ''
  const seen = new Set<string>()
  const lines = text.split(/\r?\n/)
  for (const [i, raw] of lines.entries()) {
    const where = `${path}:${i + 1}`
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const header = /^\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$/.exec(line)
    if (header !== null) {
      section = header[1]
      if (seen.has(`[${section}]`)) throw new InvalidArgumentError(`${where}: [${section}] appears twice`)
      seen.add(`[${section}]`)
      continue
    }
    const pair = /^([A-Za-z0-9_-]+|"[^"\n]*")\s*=\s*(.*)$/.exec(line)
    if (pair === null) throw new InvalidArgumentError(`${where}: expected [section] or key = "value"`)
    const key = pair[1].replace(/^"(.*)"$/, '$1')
    if (seen.has(`${section}.${key}`)) throw new InvalidArgumentError(`${where}: ${key} is set twice in [${section}]`)
    seen.add(`${section}.${key}`)
    const field = (FIELDS as Record<string, Record<string, Field>>)[section]?.[key]
    if (field === undefined) continue
    const value = stringValue(pair[2].trim())
    if (value === undefined) throw new InvalidArgumentError(`${where}: ${key} must be a quoted string`)
    if (value === '') throw new InvalidArgumentError(`${where}: ${key} is empty`)
    found[field] = value.startsWith('~/') ? join(home(env), value.slice(2)) : value
  }
  for (const [section, keys] of Object.entries(FIELDS)) {
    for (const [key, field] of Object.entries(keys)) {
      if (found[field] === undefined) throw new InvalidArgumentError(`${path}: [${section}] ${key} is missing`)
    }
  }
  return { path, caCrt: found.caCrt as string, clientCrt: found.clientCrt as string, clientKey: found.clientKey as string, socket: found.socket as string }
}

/** A TOML basic string. */
const quoted = (s: string): string => JSON.stringify(s).replace(/[\u007f]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

/** The config file's text, as the original writes it. */
export function formatAuraeConfig (config: Omit<AuraeConfig, 'path'>): string {
  return `[auth]
ca_crt = ${quoted(config.caCrt)}
client_crt = ${quoted(config.clientCrt)}
client_key = ${quoted(config.clientKey)}

[system]
socket = ${quoted(config.socket)}
`
}
