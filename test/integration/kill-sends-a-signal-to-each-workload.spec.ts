import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode, until, workload, type TestNode } from '../helpers/node.ts'

describe('kill sends a signal to each workload, SIGKILL unless told', () => {
  let node: TestNode
  beforeAll(async () => { node = await startNode('killer') })
  afterAll(async () => { await node.stop() })

  const logs = async (name: string): Promise<string> => (await node.cli(['logs', name])).stdout

  it('delivers the signal it is given, which the workload may trap', async () => {
    await node.cli(['exec', 'trapper', '-d', '--', 'sh', '-c', 'trap "echo got HUP; exit 7" HUP; echo ready; while true; do sleep 0.05; done'])
    await until('the workload to be ready', async () => (await logs('trapper')).includes('ready'))
    expect(await node.cli(['kill', 'trapper', '--signal', 'HUP'])).toEqual({ code: 0, stdout: 'trapper\n', stderr: '' })
    await until('the workload to exit', async () => (await workload(node, 'trapper'))?.state === 'exited')
    expect(await workload(node, 'trapper')).toMatchObject({ exitCode: 7, signal: null })
    expect(await logs('trapper')).toBe('ready\ngot HUP\n')
  })

  it('kills with SIGKILL by default, in the management form too, several at once', async () => {
    for (const name of ['one', 'two']) await node.cli(['exec', name, '-d', '--', 'sh', '-c', 'trap "" TERM HUP INT; while true; do sleep 0.05; done'])
    expect(await node.cli(['workload', 'kill', 'one', 'two'])).toEqual({ code: 0, stdout: 'one\ntwo\n', stderr: '' })
    for (const name of ['one', 'two']) {
      await until(`${name} to exit`, async () => (await workload(node, name))?.state === 'exited')
      expect(await workload(node, name)).toMatchObject({ exitCode: null, signal: 'SIGKILL' })
    }
  })

  it('refuses a signal that does not exist as bad usage, and a workload that is not running as a failure', async () => {
    const bad = await node.cli(['kill', 'one', '-s', 'NOPE'])
    expect(bad).toEqual({ code: 2, stdout: '', stderr: 'aurae: invalid --signal "NOPE": expected a signal name such as HUP or SIGTERM, or its number\n' })
    const ended = await node.cli(['kill', 'one'])
    expect(ended).toEqual({ code: 1, stdout: '', stderr: 'aurae: workload one is not running\n' })
    const missing = await node.cli(['kill', 'nobody'])
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'aurae: no workload named nobody\n' })
  })
})
