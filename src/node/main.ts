// auraed: the daemon's command line.
import { isAbsolute, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { InvalidArgumentError, messageOf } from '../errors.ts'
import { parseNodeName } from '../names/parse.ts'
import { DEFAULT_LISTEN, resolvePaths, VERSION } from './config.ts'
import { defaultTls, VM_READY_SECONDS, VM_TEMPLATES } from '../common/node-defaults.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { Daemon } from './daemon.ts'
import { DaemonLog } from './log.ts'
import { LOG_FILES, LOG_MAX_BYTES } from '../runtime/log-files.ts'
import { endWith, quitNow } from '../common/exit.ts'

const USAGE = `usage: auraed [--sock PATH] [--key PATH] [--data DIR] [--listen MULTIADDR]... [--bootstrap MULTIADDR]... [--log-max-bytes N] [--log-files N] [--vm-ready-timeout N] [--vm-templates DIR|off] [--tls-sock PATH|off] [--pki DIR] [--pid1] [--up NAME[@DOMAIN]] [--trust PEERID=NAME[@DOMAIN]]...

Runs the Aurae node daemon. Without key material it serves only status until "aurae up NAME" registers the node.
  --sock PATH         the API socket (default /run/aurae.sock, env AURAE_SOCK)
  --key PATH          the node's private key (default ~/.ssh/id_aura)
  --data DIR          state, logs and the store (default /var/lib/aurae; ~/.local/share/aurae if not root)
  --listen MULTIADDR  where the mesh listens (repeatable; default ${DEFAULT_LISTEN})
  --bootstrap MULTIADDR  a node to join the mesh through (repeatable)
  --log-max-bytes N   rotate a workload's log file at this size (default ${LOG_MAX_BYTES})
  --log-files N       keep this many files of a workload's log, the live one included (default ${LOG_FILES})
  --vm-ready-timeout N  seconds a VM of an image has to start its workload before it is ended (default ${VM_READY_SECONDS})
  --vm-templates DIR|off  where VMs of images are saved once booted, for later ones to start from (warm starts;
                      default ${VM_TEMPLATES}); off: every VM boots
  --tls-sock PATH|off  the original Aurae's mTLS socket, for clients with a certificate the node's CA signed (default
                      /var/run/aurae/aurae.sock as root, for the node on /run/aurae.sock; others, and --pid1: off)
  --pki DIR           the mTLS socket's ca.crt, _signed.server.crt and server.key, made with a CA key on first start
                      when the directory holds none (default /etc/aurae/pki as root, ~/.config/aurae/pki otherwise)
  --pid1              be a guest's (or a PID namespace's) node under aurae-init, its PID 1: SIGTERM stops every
                      workload, and aurae-init powers off once auraed has exited
  --up NAME[@DOMAIN]  come up under this name at start, as "aurae up" would (a nested node's, named by its host)
  --trust PEERID=NAME[@DOMAIN]  trust this peer from the start, without a token (a nested node's host; repeatable)`

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
        'log-files': { type: 'string' },
        'vm-ready-timeout': { type: 'string' },
        'vm-templates': { type: 'string' },
        'tls-sock': { type: 'string' },
        pki: { type: 'string' },
        listen: { type: 'string', multiple: true },
        bootstrap: { type: 'string', multiple: true },
        pid1: { type: 'boolean' },
        up: { type: 'string' },
        trust: { type: 'string', multiple: true },
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
  const logFiles = values['log-files']
  if (logFiles !== undefined && !/^[1-9]\d{0,5}$/.test(logFiles)) {
    process.stderr.write(`auraed: invalid --log-files "${logFiles}": expected a whole number from 1 to 999999\n`)
    process.exit(2)
  }
  const vmReady = values['vm-ready-timeout']
  if (vmReady !== undefined && !/^[1-9]\d{0,5}$/.test(vmReady)) {
    process.stderr.write(`auraed: invalid --vm-ready-timeout "${vmReady}": expected a whole number of seconds from 1 to 999999\n`)
    process.exit(2)
  }
  const vmTemplates = values['vm-templates'] ?? VM_TEMPLATES
  if (vmTemplates !== 'off' && !isAbsolute(vmTemplates)) {
    process.stderr.write(`auraed: invalid --vm-templates "${vmTemplates}": expected an absolute directory, or off\n`)
    process.exit(2)
  }
  const paths = resolvePaths(values)
  const tlsDefault = defaultTls(paths.sock, process.env, process.getuid?.() ?? 0)
  // A guest's node (--pid1) is reached by its host through the mesh: it serves no mTLS socket unless told to.
  const tlsSock = values['tls-sock'] ?? (values.pid1 === true ? 'off' : tlsDefault.sock)
  if (tlsSock === '') {
    process.stderr.write('auraed: invalid --tls-sock "": expected a socket path, or off\n')
    process.exit(2)
  }
  const tls = tlsSock === 'off' ? undefined : { sock: resolve(tlsSock), pki: resolve(values.pki ?? tlsDefault.pki) }
  if (tls !== undefined && tls.sock === paths.sock) {
    process.stderr.write(`auraed: --tls-sock ${tls.sock} is the --sock too: the mTLS socket needs a path of its own\n`)
    process.exit(2)
  }
  // Node reaps only its own children, so the orphans a PID 1 inherits need aurae-init above it.
  if (values.pid1 === true && process.ppid !== 1) {
    process.stderr.write('auraed: --pid1 runs under aurae-init, as its child: boot aurae-init -- node auraed.js --pid1 …\n')
    process.exit(2)
  }
  const listen = values.listen ?? [DEFAULT_LISTEN]
  const bootstrap = values.bootstrap ?? []
  for (const addr of [...listen, ...bootstrap]) {
    try {
      multiaddr(addr)
    } catch {
      process.stderr.write(`auraed: invalid multiaddr "${addr}": expected something like /ip4/10.0.0.1/tcp/4710\n`)
      process.exit(2)
    }
  }
  let named: { peer: string, domain: string } | undefined
  let trusted: Array<{ peerId: string, name: string, domain: string }>
  try {
    named = values.up === undefined ? undefined : parseNodeName(values.up)
    trusted = (values.trust ?? []).map(t => {
      const eq = t.indexOf('=')
      const peerId = t.slice(0, eq)
      if (eq < 0 || !/^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(peerId)) throw new InvalidArgumentError(`invalid --trust "${t}": expected PEERID=NAME[@DOMAIN]`)
      const { peer, domain } = parseNodeName(t.slice(eq + 1))
      return { peerId, name: peer, domain }
    })
  } catch (err) {
    process.stderr.write(`auraed: ${messageOf(err)}\n`)
    process.exit(2)
  }
  const log = new DaemonLog()
  process.on('uncaughtException', err => log.write('error', 'uncaught exception', { err: err.stack }))
  process.on('unhandledRejection', err => log.write('error', 'unhandled rejection', { err: err instanceof Error ? err.stack : String(err) }))
  let daemon: Daemon
  try {
    daemon = await Daemon.start({ paths, tls, logMaxBytes: logMax === undefined ? undefined : Number(logMax), logFiles: logFiles === undefined ? undefined : Number(logFiles), vmReadySeconds: vmReady === undefined ? undefined : Number(vmReady), vmTemplates: vmTemplates === 'off' ? undefined : vmTemplates, listen, bootstrap, log })
    if (named !== undefined) await daemon.up(named.peer, named.domain, false)
    for (const peer of trusted) {
      if (!daemon.active.mesh.trusts(peer.peerId)) await daemon.active.mesh.adopt({ ...peer, addrs: [], trustedAt: Date.now() })
    }
  } catch (err) {
    process.stderr.write(`auraed: ${messageOf(err)}\n`)
    quitNow(1)
  }
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => { void daemon.shutdown(true) })
  process.on('SIGHUP', () => {})
  await daemon.closed
  endWith(0)
}
