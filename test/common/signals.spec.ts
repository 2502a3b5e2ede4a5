import { describe, expect, it } from 'vitest'
import { signalName, signalNumber } from '../../src/common/signals.ts'

describe('signals as people write them', () => {
  it.each([['KILL', 'SIGKILL'], ['sigterm', 'SIGTERM'], ['SIGHUP', 'SIGHUP'], ['hup', 'SIGHUP'], ['9', 'SIGKILL'], ['15', 'SIGTERM']])('%s is %s', (text, name) => {
    expect(signalName(text)).toBe(name)
  })

  it.each(['', 'NOPE', 'SIG', '999', '-9', '9.5'])('%j is no signal', text => {
    expect(signalName(text)).toBeUndefined()
  })

  it('numbers a signal by this platform\'s table', () => {
    expect(signalNumber('SIGKILL')).toBe(9)
    expect(signalNumber('SIGNOPE')).toBeUndefined()
  })
})
