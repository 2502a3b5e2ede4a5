import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { endTerminals, onTerminal } from '../helpers/terminal.ts'
import { peeredPair, type PeeredPair } from '../helpers/peered-pair.ts'
import { isAlive, until, workload, type TestNode } from '../helpers/node.ts'
import { APP_UID, pushImage, startRegistry, userShellLayer, type TestRegistry } from '../helpers/registry.ts'

const APPLETS = ['sh', 'echo', 'cat', 'sleep', 'true', 'id', 'stty', 'tty', 'wc', 'ls', 'readlink']

/** A busybox image in the style of the official ones: a non-root User, a StopSignal, a Volumes entry. */
async function pushShell (host: string): Promise<void> {
  const layer = await userShellLayer(APPLETS, '/data', [{ name: 'data/', mode: 0o777 }, { name: 'tmp/', mode: 0o1777 }])
  await pushImage(host, 'shell', 'latest', [layer], {
    config: { User: 'app', Env: ['PATH=/bin'], WorkingDir: '/data', Volumes: { '/data': {} }, StopSignal: 'SIGINT', Cmd: ['sh'] }
  })
}

describe('containers run with a terminal or with stdin (run -it, run -i), here and on a peer', () => {
  let registry: TestRegistry
  let pair: PeeredPair | undefined
  let alice: TestNode
  let emily: TestNode
  let image: string
  beforeAll(async () => {
    registry = await startRegistry()
    await pushShell(registry.host)
    pair = await peeredPair(registry)
    ;({ alice, emily } = pair)
    image = `${pair.inside.host}/shell`
    const pulled = await emily.cli(['pull', image])
    if (pulled.code !== 0) throw new Error(pulled.stderr)
  }, 120_000)
  afterAll(async () => {
    endTerminals()
    try {
      await pair?.stop()
    } finally {
      registry?.stop()
    }
  })

  it('gives the container a terminal with run -it, here and on a peer: size and resize, Ctrl-C as a key, the exit code', async () => {
    for (const [node, where] of [[emily, ''], [alice, '@emily']] as const) {
      const out = await onTerminal(node, ['run', '-it', '--rm', image + where, '--', 'sh'], [
        ['send', 'stty size; tty; id -u\n'], ['wait', '30 100'], ['wait', String(APP_UID)],
        ['resize', 40, 120], ['until', '40 120', 'stty size\n'],
        // Ctrl-C ends the command in the foreground, not aurae: the shell carries on. The command prints once it is
        // the terminal's foreground job (then it becomes sleep), so the key cannot reach the shell first.
        ['send', 'sh -c "echo sleep\'\'ing; exec sleep 100"\n'], ['wait', 'sleeping'], ['send', '\x03'], ['send', 'echo aft\'\'er=$?\n'], ['wait', 'after=130'],
        ['send', 'exit 7\n']
      ]).out
      expect(out).toMatch(/exit=7\n$/)
      // The container's own terminal, not the one aurae runs on.
      expect(out).toMatch(/\/dev\/pts\/0/)
    }
  }, 120_000)

  it('enters a running container with exec -it, here and on a peer: its terminal sized from the start, TERM, a resize', async () => {
    const started = await emily.cli(['run', '-d', '--name', 'box', image, '--', 'sleep', '1000'])
    expect(started.code).toBe(0)
    for (const [node, where] of [[emily, ''], [alice, '@emily']] as const) {
      // The first thing the command does is read its terminal's size: it is the caller's already.
      const out = await onTerminal(node, ['exec', '-it', `box${where}`, '--', 'sh', '-c', 'stty size; echo T=$TERM; tty; exec sh'], [
        ['wait', 'T=xterm'], ['wait', '/dev/pts/'], ['resize', 40, 120], ['until', '40 120', 'stty size\n'], ['send', 'exit 6\n']
      ]).out
      expect(out).toMatch(/^30 100\r\nT=xterm\r\n\/dev\/pts\/\d+\r\n/)
      expect(out).toMatch(/exit=6\n$/)
    }
    expect((await emily.cli(['rm', '-f', 'box'])).code).toBe(0)
  }, 120_000)

  it('pipes stdin to the container with run -i, here and on a peer, and closes it at the end of the input', async () => {
    const input = 'x'.repeat(3 * 1024 * 1024 + 7)
    for (const [node, where] of [[emily, ''], [alice, '@emily']] as const) {
      expect(await node.cli(['run', '-i', '--rm', image + where, '--', 'wc', '-c'], { input })).toEqual({ code: 0, stdout: `${input.length}\n`, stderr: '' })
      expect(await node.cli(['run', '-i', '--rm', image + where, '--', 'sh', '-c', 'cat; echo end=$?; exit 3'], { input: 'one\ntwo\n' })).toEqual({ code: 3, stdout: 'one\ntwo\nend=0\n', stderr: '' })
    }
  }, 120_000)

  it('starts a new executable on a terminal, or with stdin, with exec -it/-i NAME where NAME is new, here and on a peer', async () => {
    for (const [node, where] of [[emily, ''], [alice, '@emily']] as const) {
      const out = await onTerminal(node, ['exec', '-it', '--rm', `fresh${where}`, '--', 'sh'], [
        ['send', 'stty size; tty\n'], ['wait', '30 100'],
        ['resize', 40, 120], ['until', '40 120', 'stty size\n'],
        ['send', 'sh -c "echo sleep\'\'ing; exec sleep 100"\n'], ['wait', 'sleeping'], ['send', '\x03'], ['send', 'echo aft\'\'er=$?\n'], ['wait', 'after=130'],
        ['send', 'exit 5\n']
      ]).out
      expect(out).toMatch(/exit=5\n$/)
      expect(out).toContain(`no workload named fresh${where}; starting a new executable of that name`)
      expect(await node.cli(['exec', '-i', '--rm', `piped${where}`, '--', 'wc', '-c'], { input: 'y'.repeat(1024 * 1024) })).toEqual({ code: 0, stdout: `${1024 * 1024}\n`, stderr: '' })
    }
  }, 120_000)

  it('refuses -t without a terminal and -d with -i, in one line each', async () => {
    expect(await emily.cli(['run', '-t', image, '--', 'true'])).toEqual({ code: 2, stdout: '', stderr: 'aurae: the input device is not a TTY; leave out -t\n' })
    expect(await emily.cli(['run', '-d', '-i', image, '--', 'cat'])).toEqual({ code: 2, stdout: '', stderr: 'aurae: -d and -i do not go together: aurae has no attach to reach its stdin later; leave out -i\n' })
  })

  it('keeps a run -it container running, on its terminal, when the daemon is killed with kill -9, and re-adopts it', async () => {
    const session = onTerminal(emily, ['run', '-it', '--name', 'term', image, '--', 'sh'], [['send', 'echo rea\'\'dy\n'], ['wait', 'ready']])
    await until('the container to run', async () => (await workload(emily, 'term').catch(() => undefined))?.state === 'running')
    const before = await workload(emily, 'term')
    const daemon = await emily.daemonPid()
    process.kill(daemon, 'SIGKILL')
    // aurae loses its node and says so in one line, its terminal restored; the container stays on its own.
    expect(await session.out).toMatch(/aurae: auraed is not running on \S+; start it with: aurae up NAME\[@DOMAIN\]\r\n\npty=\S+ exit=125\n$/)
    // Gone, not dying: a dying daemon's socket may still take the next up's call, and then drop it.
    await until('the daemon to die', () => !isAlive(daemon))
    expect((await emily.up()).code).toBe(0)
    await until('the node to answer', async () => (await emily.cli(['ps'])).code === 0)
    expect(await workload(emily, 'term')).toMatchObject({ state: 'running', pid: before.pid })
    expect(isAlive(before.pid as number)).toBe(true)
    // Its shell still has its terminal, which its monitor keeps.
    expect(await emily.cli(['exec', 'term', '--', 'readlink', '/proc/1/fd/0'])).toEqual({ code: 0, stdout: '/dev/pts/0\n', stderr: '' })
    expect((await emily.cli(['stop', 'term'])).code).toBe(0)
    expect(await workload(emily, 'term')).toMatchObject({ state: 'exited' })
  }, 120_000)
})
