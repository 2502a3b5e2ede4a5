import { describe, expect, it } from 'vitest'
import { signalName } from '../../src/cli/commands/stop.ts'

describe('signal names on the command line', () => {
  it('takes a name with or without SIG, in any case, or a number, as docker kill does', () => {
    expect(['KILL', 'sigkill', 'SIGKILL', '9'].map(signalName)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL'])
    expect(signalName('usr1')).toBe('SIGUSR1')
    expect(() => signalName('NOPE')).toThrow('unknown signal "NOPE"')
  })
})
