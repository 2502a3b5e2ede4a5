// The original Aurae's client config (`[auth] ca_crt, client_crt, client_key`; `[system] socket`, TOML), looked up where
// its clients look: ~/.aurae/config, /etc/aurae/config, /var/lib/aurae/config, in that order.
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { InvalidArgumentError, NotFoundError } from '../errors.ts'

export interface AuraeConfig {
  /** The file it was read from. */
  path: string
  caCrt: string
  clientCrt: string
  clientKey: string
  socket: string
}

/** Where a client looks for its config, first match wins. */
export function configPaths (env: NodeJS.ProcessEnv = process.env): string[] {
  return [join(env.HOME ?? homedir(), '.aurae', 'config'), '/etc/aurae/config', '/var/lib/aurae/config']
}

/** The first config of configPaths that exists, parsed; NotFoundError naming the paths when there is none. */
export function findAuraeConfig (env: NodeJS.ProcessEnv = process.env): AuraeConfig {
  const paths = configPaths(env)
  for (const path of paths) {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') continue
      throw new InvalidArgumentError(`cannot read the client config ${path}: ${(err as Error).message}`)
    }
    return parseAuraeConfig(text, path, env)
  }
  throw new NotFoundError(`no client config file: none of ${paths.join(', ')} exists`)
}

const KEYS = { auth: ['ca_crt', 'client_crt', 'client_key'], system: ['socket'] } as const

/** The config in `text` (read from `path`), its `~/` paths made absolute with env's HOME. */
export function parseAuraeConfig (text: string, path: string, env: NodeJS.ProcessEnv = process.env): AuraeConfig {
  const values = new Map<string, string>()
  let section = ''
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/^\s+|\s+$/g, '')
    if (line === '' || line.startsWith('#')) continue
    const header = /^\[\s*([A-Za-z0-9_.-]+)\s*\]$/.exec(line)
    if (header !== null) {
      section = header[1]
      continue
    }
    const pair = /^([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*(?:#.*)?$/.exec(line)
    if (pair === null) throw new InvalidArgumentError(`${path}:${i + 1}: not a key = "value" line: ${line}`)
    values.set(`${section}.${pair[1]}`, pair[2] !== undefined ? JSON.parse(`"${pair[2]}"`) as string : pair[3])
  }
  const home = env.HOME ?? homedir()
  const get = (section: keyof typeof KEYS, key: string): string => {
    const value = values.get(`${section}.${key}`)
    if (value === undefined || value === '') throw new InvalidArgumentError(`${path}: no ${key} in [${section}]`)
    return value.startsWith('~/') ? join(home, value.slice(2)) : value
  }
  return { path, caCrt: get('auth', 'ca_crt'), clientCrt: get('auth', 'client_crt'), clientKey: get('auth', 'client_key'), socket: get('system', 'socket') }
}

/** The config file's text for `config`, as the original writes it. */
export function formatAuraeConfig (config: Omit<AuraeConfig, 'path'>): string {
  const q = (s: string): string => JSON.stringify(s)
  return `[auth]\nca_crt = ${q(config.caCrt)}\nclient_crt = ${q(config.clientCrt)}\nclient_key = ${q(config.clientKey)}\n\n[system]\nsocket = ${q(config.socket)}\n`
}
