// aurae pull, images, rmi, image prune, login.
import { InvalidArgumentError } from '../../errors.ts'
import type { Image } from '../../gen/aurae/images/v0/images.ts'
import { parseName } from '../../names/parse.ts'
import { formatBytes } from '../../runtime/limits.ts'
import { familiarImageName, parseImageReference } from '../../runtime/image/reference.ts'
import type { Daemon } from '../client.ts'
import type { Command } from '../context.ts'
import { EXIT } from '../exit.ts'
import { clean, duration, json, table } from '../output.ts'

/** `nginx@emily` → checked image reference plus the `@emily` to route by. */
function imageTarget (text: string | undefined, verb: string): string {
  if (text === undefined) throw new InvalidArgumentError(`missing image: aurae ${verb} IMAGE[@PEER]`)
  parseImageReference(parseName(text).entity)
  return text
}

function peerArg (text: string | undefined): string {
  if (text === undefined) return ''
  if (!text.startsWith('@')) throw new InvalidArgumentError('expected @PEER, as in: aurae images @emily')
  parseName(text)
  return text.slice(1)
}

export function imageJson (i: Image): object {
  return { name: i.name, repository: i.repository, tag: i.tag, digest: i.digest, manifest: i.manifest, config: i.config, size: i.size, created: i.created || null, layers: i.layers.map(l => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })) }
}

export const pull: Command = {
  spec: {
    name: 'pull',
    usage: 'pull IMAGE[@PEER]',
    summary: 'Pulls an image from its registry (docker.io/library/… by default), through any configured mirror.',
    flags: {},
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const image = await pullShowingProgress(ctx.daemon(), imageTarget(parsed.positionals[0], 'pull'))
    if (image !== undefined) process.stdout.write(`${image.name}\n${image.digest}\n`)
    return EXIT.ok
  }
}

/** Pulls `reference` (`IMAGE[@PEER]`) with a line per layer on stderr, redrawn in place on a terminal. */
export async function pullShowingProgress (d: Daemon, reference: string): Promise<Image | undefined> {
  const tty = process.stderr.isTTY === true
  const lines = new Map<string, string>()
  let drawn = 0
  const draw = (): void => {
    process.stderr.write(drawn > 0 ? `\x1b[${drawn}A` : '')
    for (const line of lines.values()) process.stderr.write(`\r\x1b[K${line}\n`)
    drawn = lines.size
  }
  let image: Image | undefined
  for await (const res of d.images.pull({ reference })) {
    const p = res.progress
    if (p !== undefined && p.layer !== '') {
      const text = p.status === 'downloading' ? `${p.layer}: downloading ${formatBytes(p.current)} / ${formatBytes(p.total)}` : `${p.layer}: ${p.status === 'exists' ? 'already here' : 'done'}`
      lines.set(p.layer, text)
      if (tty) draw()
      else if (p.status !== 'downloading') process.stderr.write(text + '\n')
    }
    image = res.image ?? image
  }
  return image
}

export const images: Command = {
  spec: {
    name: 'images',
    usage: 'images [@PEER] [--json]',
    summary: 'Lists pulled images.',
    flags: { json: { type: 'boolean', help: 'print a JSON array' } },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const d = ctx.daemon()
    const { images: list } = await d.images.list({ peer: peerArg(parsed.positionals[0]) })
    if (parsed.flags.json === true) {
      process.stdout.write(json(list.map(imageJson)))
      return EXIT.ok
    }
    const now = Date.now()
    process.stdout.write(table(['REPOSITORY', 'TAG', 'DIGEST', 'SIZE', 'CREATED'], list.map(i => [
      familiarImageName({ ...parseImageReference(i.name), tag: '', digest: '' }),
      i.tag === '' ? '<none>' : clean(i.tag),
      clean(i.digest.slice(0, 19)),
      formatBytes(i.size),
      i.created === '' ? '-' : `${duration(now - Date.parse(i.created))} ago`
    ])))
    return EXIT.ok
  }
}

export const rmi: Command = {
  spec: { name: 'rmi', usage: 'rmi IMAGE[@PEER]...', summary: 'Forgets images; their blobs go with "aurae image prune".', flags: {}, maxPositionals: Infinity },
  async run (parsed, ctx) {
    if (parsed.positionals.length === 0) throw new InvalidArgumentError('missing image: aurae rmi IMAGE')
    const d = ctx.daemon()
    for (const text of parsed.positionals) {
      const { image } = await d.images.remove({ reference: imageTarget(text, 'rmi') })
      process.stdout.write(`${image?.name}\n`)
    }
    return EXIT.ok
  }
}

export const image: Command = {
  spec: { name: 'image', usage: 'image prune [@PEER]', summary: 'image prune: deletes the blobs no image uses.', flags: {}, maxPositionals: 2 },
  async run (parsed, ctx) {
    const [verb, where] = parsed.positionals
    if (verb !== 'prune') throw new InvalidArgumentError(`unknown image command "${verb ?? ''}": expected aurae image prune`)
    const d = ctx.daemon()
    const res = await d.images.prune({ peer: peerArg(where) })
    process.stderr.write(`removed ${res.blobs} blob${res.blobs === 1 ? '' : 's'}, ${formatBytes(res.bytes)}\n`)
    return EXIT.ok
  }
}

export const login: Command = {
  spec: {
    name: 'login',
    usage: 'login REGISTRY --username USER --password-stdin',
    summary: 'Stores credentials for a registry (kept in <data>/auth.json, mode 0600).',
    flags: {
      username: { type: 'string', short: 'u', help: 'the user name', value: 'USER' },
      'password-stdin': { type: 'boolean', help: 'read the password from standard input' }
    },
    maxPositionals: 1
  },
  async run (parsed, ctx) {
    const registry = parsed.positionals[0]
    const username = parsed.flags.username as string | undefined
    if (registry === undefined || username === undefined || parsed.flags['password-stdin'] !== true) {
      throw new InvalidArgumentError('usage: aurae login REGISTRY --username USER --password-stdin')
    }
    let password = ''
    for await (const chunk of process.stdin) password += String(chunk)
    const d = ctx.daemon()
    await d.images.login({ registry, username, password: password.replace(/\r?\n$/, '') })
    process.stderr.write(`logged in to ${registry}\n`)
    return EXIT.ok
  }
}
