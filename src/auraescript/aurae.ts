// AuraeScript's `aurae` module, as the original's auraescript/gen/aurae.ts: createClient() and print(), and beyond it
// peer(), the same clients for a trusted peer of the node.
import { readFileSync } from 'node:fs'
import { findAuraeConfig, parseAuraeConfig, type AuraeConfig } from '../client/aurae-config.ts'
import { NotFoundError } from '../errors.ts'
import { AuraeClient, clientOn } from './client.ts'

export { AuraeClient }

/** The original's options: its default config, a config file, or the config's four values. */
export type CreateClientDefault = { kind: 'default' }
export type CreateClientPath = { kind: 'path', path: string }
export type CreateClientOpts = { kind: 'opts', ca_crt: string, client_crt: string, client_key: string, socket: string }
/** Beyond the original: the owner-only socket of a node of one's own, in plaintext. */
export type CreateClientSocket = { kind: 'socket', path: string }
export type CreateClient = CreateClientDefault | CreateClientPath | CreateClientOpts | CreateClientSocket

/** A client of a node; nothing connects until its first call. Without options: the node on $AURAE_SOCK (its
 * owner-only socket) when that is set, else the one the first client config names (~/.aurae/config, /etc/aurae/config,
 * /var/lib/aurae/config). */
export function createClient (opts: CreateClient | Omit<CreateClientPath, 'kind'> | Omit<CreateClientOpts, 'kind'> | Omit<CreateClientSocket, 'kind'> = { kind: 'default' }): AuraeClient {
  const o = opts as { kind?: string, path?: string, ca_crt?: string, client_crt?: string, client_key?: string, socket?: string }
  const kind = o.kind ?? ('ca_crt' in o ? 'opts' : 'path' in o ? 'path' : 'default')
  switch (kind) {
    case 'socket': return clientOn(String(o.path))
    case 'path': return mtlsClient(configAt(String(o.path)))
    case 'opts': return mtlsClient({ path: 'the options given', caCrt: String(o.ca_crt), clientCrt: String(o.client_crt), clientKey: String(o.client_key), socket: String(o.socket) })
    default: {
      const sock = process.env.AURAE_SOCK
      if (sock !== undefined && sock !== '') return clientOn(sock)
      return mtlsClient(findAuraeConfig())
    }
  }
}

function configAt (path: string): AuraeConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new NotFoundError(`cannot read the client config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parseAuraeConfig(text, path)
}

/** A client over mTLS with the certificates a config names (read now: a missing one is said at once). */
function mtlsClient (config: AuraeConfig): AuraeClient {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new NotFoundError(`cannot read the ${what} ${file} (from ${config.path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  return clientOn(config.socket, { ca: read('CA certificate', config.caCrt), cert: read('client certificate', config.clientCrt), key: read('client key', config.clientKey) })
}

let fallback: AuraeClient | undefined

/** The client `new XServiceClient()` gets when given none, and `peer(name)` goes through: createClient()'s, made once. */
export function defaultClient (): AuraeClient {
  fallback ??= createClient()
  return fallback
}

/** The node's clients for its trusted peer `name` (`new cells.CellServiceClient(aurae.peer("emily"))`). */
export function peer (name: string, via: AuraeClient = defaultClient()): AuraeClient {
  return via.peer(name)
}

/** Prints its arguments on one line, as the original: objects as indented JSON, the rest as strings. */
export function print (...values: unknown[]): void {
  process.stdout.write(`${values.map(text).join(' ')}\n`)
}

function text (value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return JSON.stringify(value, (_, v: unknown) => typeof v === 'bigint' ? v.toString() : v, 2)
  return value === undefined || value === null ? '' : String(value)
}
