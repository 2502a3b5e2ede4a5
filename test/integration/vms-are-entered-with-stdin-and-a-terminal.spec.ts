// A VM (qemu, software emulation) entered with exec -i and exec -it, here and from a peer: here aurae runs
// aurae-vm-exec itself on its own stdin and terminal, from a peer the node runs it (under aurae-pty with -t). The
// command's stdin comes through the guest's exec port at the pace it takes it; with -t it runs on a terminal of its
// own in the guest, sized from the start, resized, with Ctrl-C and Ctrl-D as keys and a hangup when its caller goes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { endTerminals, onTerminal } from '../helpers/terminal.ts'
import { peeredPair, type PeeredPair } from '../helpers/peered-pair.ts'
import { until, workload, type TestNode } from '../helpers/node.ts'
import { APP_UID, pushImage, startRegistry, userShellLayer, type TestRegistry } from '../helpers/registry.ts'

const APPLETS = ['sh', 'echo', 'cat', 'sleep', 'true', 'wc', 'stty', 'tty', 'readlink']

/** busybox, run as a user of its own (its terminal must be theirs). */
async function pushShell (host: string): Promise<void> {
  const layer = await userShellLayer(APPLETS, '/tmp', [{ name: 'tmp/', mode: 0o1777 }])
  await pushImage(host, 'vmshell', 'latest', [layer], { config: { User: 'app', Env: ['PATH=/bin'], Cmd: ['sh'] } })
}

describe('VMs are entered with stdin and a terminal, here and from a peer', () => {
  let registry: TestRegistry
  let pair: PeeredPair | undefined
  let alice: TestNode
  let emily: TestNode
  // emily runs the VM; alice enters it as vm1@emily.
  const callers = (): Array<readonly [TestNode, string]> => [[emily, ''], [alice, '@emily']]
  beforeAll(async () => {
    registry = await startRegistry()
    await pushShell(registry.host)
    pair = await peeredPair(registry)
    ;({ alice, emily } = pair)
    const started = await emily.cli(['run', '--vm', `${pair.inside.host}/vmshell`, '-d', '--name', 'vm1', '--', 'sh', '-c', 'echo up; exec sleep 1000'])
    if (started.code !== 0) throw new Error(started.stderr)
    await until('the VM to boot', async () => (await emily.cli(['logs', 'vm1'])).stdout === 'up\n', 120_000)
  }, 240_000)
  afterAll(async () => {
    endTerminals()
    try {
      await pair?.stop()
    } finally {
      registry?.stop()
    }
  })

  it('pipes stdin to a command in the VM with exec -i and closes it at the end of the input, at the pace the command takes it', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024)
    for (const [node, where] of callers()) {
      expect(await node.cli(['exec', '-i', `vm1${where}`, '--', 'sh', '-c', 'cat; echo end=$?'], { input: 'one\ntwo\n' })).toEqual({ code: 0, stdout: 'one\ntwo\nend=0\n', stderr: '' })
      // Far more than the guest holds for a command: it takes it as the command reads.
      expect(await node.cli(['exec', '-i', `vm1${where}`, '--', 'wc', '-c'], { input: big })).toEqual({ code: 0, stdout: `${big.length}\n`, stderr: '' })
      // Input for a command that closed its stdin is dropped: its caller does not wait on it, and the guest's
      // SIGPIPE is no one's (the workload runs on).
      expect(await node.cli(['exec', '-i', `vm1${where}`, '--', 'sh', '-c', 'exec 0<&-; sleep 1; echo closed; exit 3'], { input: big })).toEqual({ code: 3, stdout: 'closed\n', stderr: '' })
    }
    expect(await workload(emily, 'vm1')).toMatchObject({ state: 'running' })
    // Without -i its stdin is /dev/null, as ever.
    expect(await emily.cli(['exec', 'vm1', '--', 'readlink', '/proc/self/fd/0'], { input: 'unread\n' })).toEqual({ code: 0, stdout: '/dev/null\n', stderr: '' })
  }, 120_000)

  it('gives a command in the VM a terminal of its own with exec -it: size from the start, TERM, resize, Ctrl-C, Ctrl-D, the exit code', async () => {
    for (const [node, where] of callers()) {
      // Keys wait for the shell's prompt, and each key for a command that is in the foreground already: under
      // software emulation a key that comes early reaches the shell's line editor, where Ctrl-C and Ctrl-D are not
      // the terminal's.
      const out = await onTerminal(node, ['exec', '-it', `vm1${where}`, '--', 'sh', '-c', 'stty size; echo T=$TERM; tty; exec sh'], [
        ['wait', 'T=xterm'], ['wait', '/dev/pts/'], ['wait', '$ '],
        ['send', 'id -u\n'], ['wait', String(APP_UID)],
        ['resize', 40, 120], ['until', '40 120', 'stty size\n'],
        ['send', 'sh -c "echo sleep\'\'ing; exec sleep 100"\n'], ['wait', 'sleeping'], ['send', '\x03'], ['send', 'echo aft\'\'er=$?\n'], ['wait', 'after=130'],
        ['send', 'sh -c "echo rea\'\'dy; exec cat"; echo cat\'\'done\n'], ['wait', 'ready'], ['send', 'hello\n'], ['wait', 'hello'], ['send', '\x04'], ['wait', 'catdone'],
        ['send', 'exit 7\n']
      ]).out
      expect(out).toMatch(/^30 100\r\nT=xterm\r\n\/dev\/pts\/\d+\r\n/)
      expect(out).toMatch(/exit=7\n$/)
      // The guest's lines arrive as it wrote them: this terminal adds no second carriage return.
      expect(out).not.toContain('\r\r\n')
    }
  }, 120_000)

  it('hangs up the command\'s terminal in the VM when its caller goes away', async () => {
    for (const [node, where, n] of [[emily, '', 1], [alice, '@emily', 2]] as const) {
      // A hangup, not the kill that a caller gone without a word gets: the shell's trap runs. The caller is killed
      // once the command runs; then its terminal goes too (its master closed).
      await onTerminal(node, ['exec', '-it', `vm1${where}`, '--', 'sh', '-c', `trap "echo hup > /tmp/hup${n}; exit 1" HUP; echo started; while :; do sleep 1; done`], [['wait', 'started'], ['kill']]).out
      await until('the command to be hung up', async () => (await emily.cli(['exec', 'vm1', '--', 'cat', `/tmp/hup${n}`])).stdout === 'hup\n', 60_000)
    }
    expect(await workload(emily, 'vm1')).toMatchObject({ state: 'running' })
  }, 120_000)

  it('refuses -t without a terminal, in one line', async () => {
    expect(await emily.cli(['exec', '-t', 'vm1', '--', 'true'])).toEqual({ code: 125, stdout: '', stderr: 'aurae: the input device is not a TTY; leave out -t\n' })
  })
})
