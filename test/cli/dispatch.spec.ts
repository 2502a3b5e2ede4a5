import { describe, expect, it } from 'vitest'
import { find, usage } from '../../src/cli/dispatch.ts'
import { help } from '../../src/cli/kit/args.ts'

const named = (word: string, args: string[]): { name: string, args: string[] } => {
  const found = find(word, args)
  if (!('command' in found)) throw new Error(`no command for ${word} ${args.join(' ')}`)
  return { name: found.command.spec.name, args: found.args }
}

describe('the command line\'s two forms, as Docker has them', () => {
  it.each([
    ['workload', ['ls', '--all'], 'ps'],
    ['workload', ['run', 'busybox'], 'run'],
    ['workload', ['exec', '--', 'true'], 'exec'],
    ['image', ['ls'], 'images'],
    ['image', ['rm', 'busybox'], 'rmi'],
    ['node', ['status'], 'status'],
    ['peer', ['ls'], 'peers'],
    ['peer', ['rm', 'emily'], 'unpeer']
  ])('aurae %s %j is aurae %s', (noun, args, short) => {
    expect(named(noun, args)).toEqual({ name: `${noun} ${args[0]}`, args: args.slice(1) })
    const long = find(noun, args) as any
    const plain = find(short, args.slice(1)) as any
    expect(long.command.run).toBe(plain.command.run)
    expect(long.command.spec.flags).toBe(plain.command.spec.flags)
    expect(long.command.spec.usage).toBe(plain.command.spec.usage.replace(short, `${noun} ${args[0]}`))
  })

  it('has image prune in the management form only, as before', () => {
    expect(named('image', ['prune', '@emily'])).toEqual({ name: 'image prune', args: ['@emily'] })
  })

  it('keeps aurae peer TOKEN as aurae proxy TOKEN, and aurae peer alone issues a token', () => {
    expect(named('peer', ['eyJ0b2tlbiI6dHJ1ZX0'])).toEqual({ name: 'peer', args: ['eyJ0b2tlbiI6dHJ1ZX0'] })
    expect(named('peer', [])).toEqual({ name: 'peer', args: [] })
  })

  it('names what is unknown, with where to look', () => {
    expect(find('frobnicate', [])).toEqual({ unknown: 'unknown command "frobnicate" (see aurae --help)' })
    expect(find('image', ['frob'])).toEqual({ unknown: 'unknown image command "frob" (see aurae image --help)' })
  })

  it('shows a noun\'s verbs for a bare noun (a usage error) or its --help', () => {
    expect(find('workload', [])).toMatchObject({ exitCode: 2, help: expect.stringContaining('  ls       Lists workloads') })
    expect(find('image', ['--help'])).toMatchObject({ exitCode: 0, help: expect.stringMatching(/rm +Forgets images.*\(aurae rmi\)/) })
  })

  it('lists each command with a whole sentence, never one cut where its summary wraps', () => {
    const lines = usage().split('\n\n')[1].split('\n').slice(1)
    expect(lines.length).toBeGreaterThan(10)
    for (const line of lines) expect(line).toMatch(/^ {2}\S+ +.*[.)]$/)
    const noun = find('workload', []) as { help: string }
    for (const line of noun.help.split('\n').filter(l => l.startsWith('  '))) expect(line).toMatch(/[.)]$/)
  })

  it('lists both forms in help: every short name, every noun and verb, and each command\'s other name', () => {
    const text = usage()
    for (const name of ['up', 'down', 'status', 'exec', 'run', 'ps', 'logs', 'stop', 'start', 'restart', 'inspect', 'kill', 'rm', 'proxy', 'peers', 'unpeer', 'resolve', 'pull', 'images', 'rmi', 'login']) {
      expect(text).toMatch(new RegExp(`^  ${name} +\\S`, 'm'))
    }
    expect(text).toMatch(/^ {2}workload +run, exec, ls \(ps\), stats, events, logs, stop, start, restart, inspect, kill, rm$/m)
    expect(text).toMatch(/^ {2}image +pull, ls \(images\), rm \(rmi\), prune, login$/m)
    expect(help((find('ps', []) as any).command.spec)).toMatch(/^usage: aurae ps \[@PEER\] \[--all\] \[--json\]\n {3}or: aurae workload ls \[@PEER\] \[--all\] \[--json\]\n/)
    expect(help((find('workload', ['ls']) as any).command.spec)).toMatch(/^usage: aurae workload ls \[@PEER\] \[--all\] \[--json\]\n {3}or: aurae ps \[@PEER\]/)
  })
})
