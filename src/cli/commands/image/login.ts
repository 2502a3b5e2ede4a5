// aurae login (aurae image login): credentials for a registry, the password read from standard input.
import { InvalidArgumentError } from '../../../errors.ts'
import type { Command } from '../../kit/context.ts'
import { EXIT } from '../../kit/exit.ts'

export const login: Command = {
  spec: {
    name: 'login',
    usage: 'login REGISTRY --username USER --password-stdin',
    summary: 'Checks credentials against a registry, then stores them (in <data>/auth.json, mode 0600).',
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
    for await (const chunk of ctx.io.stdin) password += String(chunk)
    const d = ctx.daemon()
    await d.images.login({ registry, username, password: password.replace(/\r?\n$/, '') })
    ctx.io.stderr.write(`logged in to ${registry}\n`)
    return EXIT.ok
  }
}
