// aurae run (aurae workload run): an OCI container from an image, or with --vm a micro-VM of its own, attached or
// detached, here or on a peer.
import { formatImageReference, parseImageReference } from '../../../common/image-reference.ts'
import { parsePort } from '../../../common/ports.ts'
import { signalName } from '../../../common/signals.ts'
import { InvalidArgumentError } from '../../../errors.ts'
import { parseName } from '../../../names/parse.ts'
import type { Command } from '../../kit/context.ts'
import { pullShowingProgress } from '../image/pull.ts'
import { assertTerminal, callerInput } from './caller-input.ts'
import { asWorkload, envOf, limitsOf, startWorkload, WORKLOAD_FLAGS } from './start.ts'
import { wholeSeconds } from './stop.ts'

/** `-v HOST:CTR[:ro]` → a volume. */
function volumeOf (text: string): { host: string, container: string, readOnly: boolean } {
  const parts = text.split(':')
  if (parts.length < 2 || parts.length > 3 || (parts.length === 3 && parts[2] !== 'ro' && parts[2] !== 'rw')) {
    throw new InvalidArgumentError(`invalid -v "${text}": expected HOST:CONTAINER[:ro]`)
  }
  return { host: parts[0], container: parts[1], readOnly: parts[2] === 'ro' }
}

/** `--security-opt` values → the container's seccomp setting; anything else is a usage error. */
function seccompOf (opts: string[]): string {
  let seccomp = ''
  for (const opt of opts) {
    if (opt === 'seccomp=unconfined' || opt === 'seccomp:unconfined') seccomp = 'unconfined'
    else throw new InvalidArgumentError(`unsupported --security-opt "${opt}": this node takes seccomp=unconfined`)
  }
  return seccomp
}

export const run: Command = {
  spec: {
    name: 'run',
    usage: 'run IMAGE[@PEER] [flags] [-- COMMAND [ARG...]]',
    summary: 'Runs a container from an image (pulled if needed), or with --vm a micro-VM. Attached by default, like exec;\nunnamed, it takes the image\'s last path component, or NAME-2, NAME-3, … when taken.',
    flags: {
      ...WORKLOAD_FLAGS,
      name: { type: 'string', help: 'the container\'s name', value: 'NAME' },
      volume: { type: 'list', short: 'v', help: 'bind a host path (repeatable)', value: 'HOST:CTR[:ro]' },
      net: { type: 'string', help: 'bridge (default), host or none', value: 'MODE' },
      publish: { type: 'list', short: 'p', help: 'publish a port (repeatable)', value: '[IP:]HOST:CTR[/udp]' },
      user: { type: 'string', short: 'u', help: 'user[:group] to run as', value: 'USER' },
      entrypoint: { type: 'string', help: 'replace the image\'s entrypoint', value: 'CMD' },
      'security-opt': { type: 'list', help: 'seccomp=unconfined: run without the default seccomp filter', value: 'OPT' },
      'stop-signal': { type: 'string', help: 'the signal that stops it (default: the image\'s StopSignal, else SIGTERM)', value: 'SIGNAL' },
      'stop-timeout': { type: 'string', help: 'seconds a stop waits before SIGKILL (default 10)', value: 'S' },
      interactive: { type: 'boolean', short: 'i', help: 'keep its stdin open to this one (ends with it, or when aurae goes)' },
      tty: { type: 'boolean', short: 't', help: 'give it a terminal (with -i, as docker run -it: keys, size, Ctrl-C)' },
      vm: { type: 'boolean', help: 'run it in a micro-VM of its own (--cpus: its vCPUs; --memory: its workload\'s, on top of the guest\'s own)' }
    },
    maxPositionals: 1,
    passthrough: true
  },
  async run (parsed, ctx) {
    const { flags } = parsed
    // A bad option is bad usage (exit 2), not a workload that failed to run.
    const seccomp = seccompOf(flags['security-opt'] as string[] | undefined ?? [])
    const stopSignal = flags['stop-signal'] as string | undefined ?? ''
    if (stopSignal !== '' && signalName(stopSignal) === undefined) throw new InvalidArgumentError(`invalid --stop-signal "${stopSignal}": expected a signal such as SIGINT`)
    const stopTimeout = wholeSeconds(flags['stop-timeout'] as string | undefined, '--stop-timeout')
    const limits = limitsOf(flags)
    const interactive = flags.interactive === true
    const tty = flags.tty === true
    const detach = flags.detach === true
    // Nothing could reach a detached container's stdin later: aurae has no attach.
    if (detach && interactive) throw new InvalidArgumentError('-d and -i do not go together: aurae has no attach to reach its stdin later; leave out -i')
    if (tty && !detach) assertTerminal(ctx.io)
    return await asWorkload(async () => {
      const target = parsed.positionals[0]
      if (target === undefined) throw new InvalidArgumentError('missing image: aurae run IMAGE [-- COMMAND]')
      const { entity: image } = parseName(target)
      const where = target.slice(image.length)
      const ref = parseImageReference(image)
      // Unnamed, the node picks the first free one of the image's last path component, NAME-2, …
      const name = flags.name as string | undefined ?? ''
      const entrypoint = flags.entrypoint as string | undefined
      const spec = {
        name: name + where,
        limits,
        restart: flags.restart as string ?? 'no',
        cell: '',
        [flags.vm === true ? 'vm' : 'container']: {
          image,
          entrypoint: entrypoint === undefined ? [] : [entrypoint],
          replaceEntrypoint: entrypoint !== undefined,
          user: flags.user as string ?? '',
          network: flags.net as string ?? 'bridge',
          volumes: (flags.volume as string[] | undefined ?? []).map(volumeOf),
          ports: (flags.publish as string[] | undefined ?? []).map(parsePort).map(p => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIP })),
          seccomp,
          command: parsed.rest ?? [],
          env: envOf(flags.env as string[] | undefined ?? []),
          workdir: flags.workdir as string ?? '',
          stopSignal,
          stopTimeout,
          tty,
          interactive
        }
      }
      // Like docker run, an image the node lacks is pulled first; on a terminal, with its progress.
      if (ctx.io.stderr.isTTY === true) {
        const d = ctx.daemon()
        const { images } = await d.images.list({ peer: where.slice(1) })
        if (!images.some(i => i.name === formatImageReference(ref))) await pullShowingProgress(d, image + where, ctx.io.stderr)
      }
      const input = (interactive || tty) && !detach ? callerInput(ctx.io, { stdin: interactive, tty }) : undefined
      return await startWorkload(ctx, spec, where, detach, flags.rm === true, name === '' ? ref.repository.split('/').pop() : undefined, input)
    })
  }
}
