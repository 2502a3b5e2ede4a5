// aurae pki client NAME: a client certificate signed by the node's CA, and the original Aurae's client config for it.
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { formatAuraeConfig } from '../../../client/aurae-config.ts'
import { defaultTls, machineTlsSock } from '../../../common/node-defaults.ts'
import { DEFAULT_TRUST_DOMAIN, issueClient } from '../../../common/pki.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import type { Command, Context } from '../../kit/context.ts'
import type { Parsed } from '../../kit/args.ts'
import { EXIT } from '../../kit/exit.ts'

/** The PKI directory a command names, else `fallback`. */
export function pkiDir (flags: Parsed['flags'], fallback: string): string {
  const given = flags.pki as string | undefined
  if (given === '') throw new InvalidArgumentError('flag --pki needs a directory')
  return resolve(given ?? fallback)
}

/** The running local node's domain and mTLS socket, when a node answers on the context's socket. */
async function localNode (ctx: Context): Promise<{ domain: string, socket?: string } | undefined> {
  try {
    const s = await ctx.daemon().node.status({})
    return { domain: s.domain, socket: s.tlsSocket === '' ? undefined : s.tlsSocket }
  } catch {
    return undefined
  }
}

/** Writes `text` at `path` whole (through a file beside it), creating its directory owner-only. */
function writeWhole (path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const part = `${path}.${process.pid}.part`
  writeFileSync(part, text, { mode: 0o600 })
  chmodSync(part, 0o600)
  renameSync(part, path)
}

export const pkiClient: Command = {
  spec: {
    name: 'pki client',
    usage: 'pki client NAME [--pki DIR] [--out DIR] [--config FILE] [--domain DOMAIN]',
    summary: 'Issues NAME a key and a certificate signed by the CA (subject CN NAME.unsafe.aurae.io, SPIFFE ID\nspiffe://DOMAIN/user/NAME), written to --out beside the CA\'s certificate, and writes the original Aurae\'s\nclient config for them: the node\'s mTLS socket and these files. An earlier certificate of NAME is replaced.',
    flags: {
      pki: { type: 'string', help: 'where the CA is (default /etc/aurae/pki as root, ~/.config/aurae/pki otherwise)', value: 'DIR' },
      out: { type: 'string', help: 'where the client\'s files go (default ~/.aurae/pki)', value: 'DIR' },
      config: { type: 'string', help: 'the client config written (default ~/.aurae/config)', value: 'FILE' },
      domain: { type: 'string', help: `the SPIFFE trust domain (default: the local node's domain, else ${DEFAULT_TRUST_DOMAIN})`, value: 'DOMAIN' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const { flags } = parsed
    const { io } = ctx
    const name = parsed.positionals[0]
    if (name === undefined) throw new InvalidArgumentError('missing client name: aurae pki client NAME')
    const home = io.env.HOME ?? homedir()
    const node = await localNode(ctx)
    const domain = flags.domain as string | undefined ?? (node?.domain === undefined || node.domain === '' ? DEFAULT_TRUST_DOMAIN : node.domain)
    const out = resolve(flags.out as string | undefined ?? join(home, '.aurae', 'pki'))
    const configPath = resolve(flags.config as string | undefined ?? join(home, '.aurae', 'config'))
    const files = await issueClient(pkiDir(flags, defaultTls(ctx.sock, io.env, io.uid).pki), name, domain, out)
    // The node's own socket when one answers here; else where the machine's node serves it.
    const socket = node?.socket ?? machineTlsSock(io.env, io.uid)
    if (node !== undefined && node.socket === undefined) io.stderr.write(`warning: the node on ${ctx.sock} serves no mTLS socket (--tls-sock off); the config names ${socket}\n`)
    writeWhole(configPath, formatAuraeConfig({ caCrt: files.ca, clientCrt: files.crt, clientKey: files.key, socket }))
    io.stdout.write(`issued ${files.spiffe}\nkey     ${files.key}\ncert    ${files.crt}\nca      ${files.ca}\nconfig  ${configPath} (socket ${socket})\n`)
    return EXIT.ok
  }
}
