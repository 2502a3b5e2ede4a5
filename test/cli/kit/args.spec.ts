import { describe, expect, it } from 'vitest'
import { help, parse, type CommandSpec } from '../../../src/cli/kit/args.ts'

const exec: CommandSpec = {
  name: 'exec',
  usage: 'exec [NAME] -- CMD',
  summary: 'Runs things.',
  flags: {
    detach: { type: 'boolean', short: 'd', help: 'detach' },
    env: { type: 'list', short: 'e', help: 'env', value: 'K=V' },
    memory: { type: 'string', short: 'm', help: 'memory', value: 'SIZE' }
  },
  maxPositionals: 1,
  passthrough: true
}
const ps: CommandSpec = { name: 'ps', usage: 'ps', summary: 'Lists.', flags: { all: { type: 'boolean', short: 'a', help: 'all' } }, maxPositionals: 0 }

describe('the argument parser', () => {
  it('takes flags before and after the name, and keeps everything after -- verbatim', () => {
    expect(parse(exec, ['-d', 'web', '--memory', '64M', '--', 'sh', '-c', 'echo --memory -d'])).toEqual({
      flags: { detach: true, memory: '64M' },
      positionals: ['web'],
      rest: ['sh', '-c', 'echo --memory -d']
    })
    expect(parse(exec, ['web', '-d']).flags.detach).toBe(true)
  })

  it('reads --flag=value, inline short values and repeated lists', () => {
    const p = parse(exec, ['--memory=1G', '-eA=1', '-e', 'B=2', '--env=C=3'])
    expect(p.flags).toEqual({ memory: '1G', env: ['A=1', 'B=2', 'C=3'] })
    expect(parse(exec, ['-m64M']).flags.memory).toBe('64M')
    expect(parse(exec, ['-m=64M']).flags.memory).toBe('64M')
    expect(parse(exec, ['--memory=-1']).flags.memory).toBe('-1')
  })

  it('takes the next argument as a value even when it starts with a dash, as before', () => {
    expect(parse(exec, ['--memory', '-1', '--', 'true'])).toEqual({ flags: { memory: '-1' }, positionals: [], rest: ['true'] })
  })

  it('reads grouped short booleans, and names the unknown one in a group', () => {
    expect(parse(ps, ['-ah']).flags).toEqual({ all: true, help: true })
    expect(() => parse(ps, ['-az'])).toThrow('unknown flag -z for aurae ps (see aurae ps --help)')
  })

  it('takes --sock and --help everywhere', () => {
    expect(parse(ps, ['--sock', '/tmp/x.sock', '-h']).flags).toEqual({ sock: '/tmp/x.sock', help: true })
  })

  it('has no rest without --', () => {
    expect(parse(exec, ['web']).rest).toBeUndefined()
  })

  it.each([
    [ps, ['--bogus'], 'unknown flag --bogus for aurae ps (see aurae ps --help)'],
    [ps, ['-z'], 'unknown flag -z for aurae ps (see aurae ps --help)'],
    [exec, ['--memory'], 'flag --memory needs a value'],
    [ps, ['--all=yes'], 'flag --all takes no value'],
    [exec, ['one', 'two'], 'unexpected argument "two" (put the command after --)'],
    [ps, ['extra'], 'unexpected argument "extra" for aurae ps'],
    [ps, ['--', 'x'], 'aurae ps takes no command after --']
  ])('refuses %#', (spec, argv, message) => {
    expect(() => parse(spec, argv)).toThrow(message)
    try { parse(spec, argv) } catch (err: any) { expect(err.name).toBe('InvalidArgumentError') }
  })

  it('lists flags in help', () => {
    const text = help(exec)
    expect(text).toContain('usage: aurae exec [NAME] -- CMD')
    expect(text).toMatch(/-d, --detach\s+detach/)
    expect(text).toMatch(/-m, --memory SIZE\s+memory/)
    expect(text).toMatch(/--sock PATH/)
  })
})
