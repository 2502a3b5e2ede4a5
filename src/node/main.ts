// auraed: the daemon's command line.
import { parseArgs } from 'node:util'
import { messageOf } from '../errors.ts'
import { resolvePaths, VERSION } from './config.ts'
import { Daemon } from './daemon.ts'
import { DaemonLog } from './log.ts'

const USAGE = `usage: auraed [--sock PATH] [--key PATH] [--data DIR] [--log-max-bytes N]

Runs the Aurae node daemon. Without key material it serves only status until "aurae up NAME" registers the node.
  --sock PATH         the API socket (default /run/aurae.sock, env AURAE_SOCK)
  --key PATH          the node's private key (default ~/.ssh/id_aura)
  --data DIR          state, logs and the store (default /var/lib/aurae; ~/.local/share/aurae if not root)
  --log-max-bytes N   rotate a workload's log file at this size (default 10485760)`

export async function main (argv: string[]): Promise<void> {
  let values
  try {
    values = parseArgs({
      args: argv,
      options: {
        sock: { type: 'string' },
        key: { type: 'string' },
        data: { type: 'string' },
        'log-max-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' }
      },
      strict: true,
      allowPositionals: false
    }).values
  } catch (err) {
    process.stderr.write(`auraed: ${messageOf(err).split('\n')[0]}\n${USAGE.split('\n')[0]}\n`)
    process.exit(2)
  }
  if (values.help === true) return void process.stdout.write(USAGE + '\n')
  if (values.version === true) return void process.stdout.write(`auraed ${VERSION}\n`)
  const logMax = values['log-max-bytes']
  if (logMax !== undefined && !/^\d+$/.test(logMax)) {
    process.stderr.write(`auraed: invalid --log-max-bytes "${logMax}": expected a whole number of bytes\n`)
    process.exit(2)
  }
  const log = new DaemonLog()
  process.on('uncaughtException', err => log.write('error', 'uncaught exception', { err: err.stack }))
  process.on('unhandledRejection', err => log.write('error', 'unhandled rejection', { err: err instanceof Error ? err.stack : String(err) }))
  let daemon: Daemon
  try {
    daemon = await Daemon.start({ paths: resolvePaths(values), logMaxBytes: logMax === undefined ? undefined : Number(logMax), log })
  } catch (err) {
    process.stderr.write(`auraed: ${messageOf(err)}\n`)
    process.exit(1)
  }
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => { void daemon.shutdown(true) })
  process.on('SIGHUP', () => {})
  await daemon.closed
  process.exit(0)
}
