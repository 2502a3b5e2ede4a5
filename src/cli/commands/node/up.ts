// aurae up (aurae node up): start auraed if it is not running, and register the node's name.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, openSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect, type AuraeClient } from '../../../client/index.ts'
import { LOG_FILES, LOG_MAX_BYTES } from '../../../common/log-defaults.ts'
import { VM_READY_SECONDS, VM_TEMPLATES } from '../../../common/node-defaults.ts'
import { AURAED_NODE_FLAGS, resolvePaths } from '../../../common/node-defaults.ts'
import { answers } from '../../../common/socket-probe.ts'
import { FailedPreconditionError, InvalidArgumentError } from '../../../errors.ts'
import { formatNodeName, parseNodeName } from '../../../names/parse.ts'
import type { Command } from '../../kit/context.ts'
import { CliError, EXIT } from '../../kit/exit.ts'
import { painter, progress } from '../../kit/output.ts'
import { missingPackages, missingWarning } from './host-packages.ts'
import { rememberFlags, rememberedFlags, withRemembered, type UpFlags } from './up-flags.ts'

// Relative to the bundle the CLI runs from (dist/aurae-cli.js).
const AURAED = fileURLToPath(new URL('../bin/auraed.js', import.meta.url))
const START_TIMEOUT_MS = 15_000

/** The messages of the last `n` lines of auraed's log, to say why it stopped. */
function lastLines (path: string, n: number): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-n).map(l => {
      try { return JSON.parse(l).msg ?? l } catch { return l.replace(/^auraed: /, '') }
    }).join('\n')
  } catch {
    return ''
  }
}

export const up: Command = {
  spec: {
    name: 'up',
    usage: 'up [NAME[@DOMAIN]] [flags]',
    summary: 'Starts auraed in the background if it is not running, creates the node\'s key on first use\nand registers its name. Running it again with the same name changes nothing.',
    flags: {
      key: { type: 'string', help: 'the node\'s private key (default ~/.ssh/id_aura)', value: 'PATH' },
      data: { type: 'string', help: 'state directory (default /var/lib/aurae, or ~/.local/share/aurae)', value: 'DIR' },
      'log-max-bytes': { type: 'string', help: `rotate workload logs at this size (default ${LOG_MAX_BYTES})`, value: 'N' },
      'log-files': { type: 'string', help: `files kept of each workload's log, the live one included (default ${LOG_FILES})`, value: 'N' },
      'vm-ready-timeout': { type: 'string', help: `seconds a VM has to start its workload before it is ended (default ${VM_READY_SECONDS})`, value: 'N' },
      'vm-templates': { type: 'string', help: `where VMs of images are saved for warm starts, or off (default ${VM_TEMPLATES})`, value: 'DIR|off' },
      'tls-sock': { type: 'string', help: 'the original Aurae\'s mTLS socket, or off (default /var/run/aurae/aurae.sock as root on /run/aurae.sock)', value: 'PATH|off' },
      pki: { type: 'string', help: 'the mTLS socket\'s certificates, made on first start (default /etc/aurae/pki as root)', value: 'DIR' },
      listen: { type: 'list', help: 'where the mesh listens (repeatable; default /ip4/0.0.0.0/tcp/4710; remembered for the next up)', value: 'MULTIADDR' },
      bootstrap: { type: 'list', help: 'a node to join the mesh through (repeatable; remembered for the next up)', value: 'MULTIADDR' },
      rename: { type: 'boolean', help: 'allow changing the name of a node that is already up' },
      foreground: { type: 'boolean', help: 'run auraed attached to this terminal' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const { flags } = parsed
    const { io } = ctx
    const nameArg = parsed.positionals[0]
    const name = nameArg === undefined ? undefined : parseNodeName(nameArg)
    const paths = resolvePaths({ sock: ctx.sock, key: flags.key as string | undefined, data: flags.data as string | undefined }, io.env, io.uid)
    const given: UpFlags = {
      listen: flags.listen as string[] | undefined,
      bootstrap: flags.bootstrap as string[] | undefined,
      logMaxBytes: flags['log-max-bytes'] as string | undefined,
      logFiles: flags['log-files'] as string | undefined,
      vmReadyTimeout: flags['vm-ready-timeout'] as string | undefined,
      vmTemplates: flags['vm-templates'] as string | undefined,
      tlsSock: absoluteOrOff(flags['tls-sock'] as string | undefined),
      pki: flags.pki === undefined ? undefined : resolve(flags.pki as string)
    }
    const daemonFlags = withRemembered(given, rememberedFlags(paths.data))
    let child: ChildProcess | undefined
    if (!(await answers(paths.sock))) {
      if (flags.foreground !== true) mkdirSync(paths.data, { recursive: true, mode: 0o700 })
      const missing = missingPackages()
      if (missing.length > 0) io.stderr.write(missingWarning(missing))
      const logFile = join(paths.data, 'auraed.log')
      const args = [...AURAED_NODE_FLAGS, AURAED, '--sock', paths.sock, '--key', paths.key, '--data', paths.data]
      if (daemonFlags.logMaxBytes !== undefined) args.push('--log-max-bytes', daemonFlags.logMaxBytes)
      if (daemonFlags.logFiles !== undefined) args.push('--log-files', daemonFlags.logFiles)
      if (daemonFlags.vmReadyTimeout !== undefined) args.push('--vm-ready-timeout', daemonFlags.vmReadyTimeout)
      if (daemonFlags.vmTemplates !== undefined) args.push('--vm-templates', daemonFlags.vmTemplates)
      if (daemonFlags.tlsSock !== undefined) args.push('--tls-sock', daemonFlags.tlsSock)
      if (daemonFlags.pki !== undefined) args.push('--pki', daemonFlags.pki)
      for (const a of daemonFlags.listen ?? []) args.push('--listen', a)
      for (const a of daemonFlags.bootstrap ?? []) args.push('--bootstrap', a)
      const p = progress(io.stderr, 'starting auraed')
      if (flags.foreground === true) {
        child = spawn(io.execPath, args, { env: io.env, stdio: 'inherit' })
      } else {
        const fd = openSync(logFile, 'a', 0o600)
        child = spawn(io.execPath, args, { env: io.env, detached: true, stdio: ['ignore', fd, fd] })
        child.unref()
      }
      let exited: number | null | undefined
      child.once('exit', code => { exited = code })
      const deadline = Date.now() + START_TIMEOUT_MS
      while (!(await answers(paths.sock))) {
        if (exited !== undefined) {
          p.done()
          const why = flags.foreground === true ? '' : lastLines(logFile, 1)
          throw new CliError(why === '' ? `auraed exited during start (code ${exited})` : why, EXIT.failure)
        }
        if (Date.now() > deadline) {
          p.done()
          child.kill('SIGKILL')
          throw new CliError(`auraed did not answer on ${paths.sock} within ${START_TIMEOUT_MS / 1000}s; see ${logFile}`, EXIT.failure)
        }
        await sleep(20)
      }
      p.done()
    }
    const d = connect({ socket: paths.sock, uid: io.uid })
    const started = child !== undefined
    const say = (text: string): void => { io.stderr.write(painter(io.stderr, io.env)(text, 'green') + '\n') }
    let s
    let keyCreated = false
    try {
      if (name !== undefined) {
        const res = await d.node.up({ name: name.peer, domain: name.domain, rename: flags.rename === true })
        const full = formatNodeName(res.name, res.domain)
        const unchanged = started ? `auraed started; ${full} is up` : `${full} is already up; nothing to do`
        say({ created: `${full} is up`, renamed: `renamed: ${full} is up`, unchanged }[res.outcome] ?? `${full} is up`)
        keyCreated = res.keyCreated
      }
      s = await d.node.status({})
      if (s.state === 'stopping') throw new FailedPreconditionError('auraed is shutting down; run aurae up again once it has stopped')
      if (s.state !== 'running') throw new InvalidArgumentError('this node has no name yet; run: aurae up NAME[@DOMAIN]')
    } catch (err) {
      // What this command started goes again: a failed up leaves no daemon behind.
      if (child !== undefined && flags.foreground !== true) await stopStarted(d, child)
      throw err
    }
    if (name === undefined) say(started ? `auraed started; ${formatNodeName(s.name, s.domain)} is up` : `${formatNodeName(s.name, s.domain)} is already up; nothing to do`)
    // The daemon's own key, which is not this command's --key when auraed was already running.
    if (keyCreated) io.stderr.write(`created key ${s.keyPath}\n`)
    if (s.cgroupsProblem !== '') io.stderr.write(`warning: workloads run without limits and containers cannot start: ${s.cgroupsProblem}\n`)
    if (started) rememberFlags(paths.data, daemonFlags)
    io.stdout.write(`name     ${formatNodeName(s.name, s.domain)}\npeer id  ${s.peerId}\nsocket   ${s.socket}\n`)
    if (child !== undefined && flags.foreground === true) {
      const fg = child
      io.onSignal(['SIGINT', 'SIGTERM'], sig => fg.kill(sig))
      const [code] = await new Promise<[number | null]>(resolve => fg.once('exit', code => resolve([code])))
      return code ?? EXIT.failure
    }
    return EXIT.ok
  }
}

/** A path flag made absolute, so that the next up, run elsewhere, means the same; `off` (and nothing) as it is. */
function absoluteOrOff (value: string | undefined): string | undefined {
  return value === undefined || value === 'off' || value === '' ? value : resolve(value)
}

/** Stops a daemon this command started and waits until it has exited (killing it if it takes too long). */
async function stopStarted (d: AuraeClient, child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  // Waited for: a child let go (detached, unref'd) would not keep aurae alive until its exit.
  child.ref()
  const exited = new Promise(resolve => child.once('exit', resolve))
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS)
  await d.node.down({ keepWorkloads: true }).catch(() => {})
  await exited
  clearTimeout(timer)
}
