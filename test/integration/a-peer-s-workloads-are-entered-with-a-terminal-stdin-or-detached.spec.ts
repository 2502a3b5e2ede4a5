import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RpcRequest, RpcResponse } from '../../src/gen/aurae/mesh/v0/mesh.ts'
import { WorkloadServiceExecInput } from '../../src/gen/aurae/workloads/v0/workloads.ts'
import { TestNet } from '../helpers/netns.ts'
import { AURAE, ROOT, isAlive, startNode, until, workload, type TestNode } from '../helpers/node.ts'

const SCRIPT = join(ROOT, 'test', 'helpers', 'pty-script.py')
const PTY = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-pty')

/** The PIDs of aurae-pty helpers of this build that still run. */
const helpers = (): number[] => readdirSync('/proc').filter(p => /^\d+$/.test(p)).filter(p => {
  try {
    return readlinkSync(`/proc/${p}/exe`) === PTY
  } catch {
    return false
  }
}).map(Number)

describe('a peer\'s workloads are entered with a terminal, with stdin, or detached', () => {
  let net: TestNet
  let alice: TestNode
  let emily: TestNode
  let marks: string
  const started: number[] = []
  beforeAll(async () => {
    marks = mkdtempSync(join(tmpdir(), 'aurae-session-'))
    net = TestNet.create(['alice', 'emily'])
    emily = await startNode('emily@example.org', ['--listen', `/ip4/${net.addr('emily')}/tcp/4810`], net.ns('emily'))
    alice = await startNode('alice@example.org', ['--listen', `/ip4/${net.addr('alice')}/tcp/4810`], net.ns('alice'))
    const token = (await emily.cli(['proxy'])).stdout.trim()
    const peered = await alice.cli(['proxy', token])
    if (peered.code !== 0) throw new Error(peered.stderr)
    expect(await alice.cli(['exec', 'svc@emily', '-d', '--', 'sleep', '1000'])).toMatchObject({ code: 0, stdout: 'svc\n' })
  })
  afterAll(async () => {
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    await alice?.stop()
    await emily?.stop()
    net?.destroy()
    rmSync(marks, { recursive: true, force: true })
  })

  /** Runs alice's (or `node`'s) CLI on a terminal of 30x100 and plays `script` against it (test/helpers/pty-script.py). */
  const onTerminal = async (args: string[], script: unknown[], node = alice): Promise<string> => await new Promise((resolve, reject) => {
    const child = spawn('python3', [SCRIPT, process.execPath, AURAE, '--sock', node.sock, ...args], { env: { ...process.env, PTY_SCRIPT: JSON.stringify(script), NO_COLOR: '1' } })
    let out = ''
    child.stdout.on('data', d => { out += String(d) })
    child.stderr.on('data', d => { out += String(d) })
    child.once('error', reject)
    child.once('close', () => resolve(out))
  })

  it('starts a command with exec -d inside the running workload, here and on a peer, and returns once it runs', async () => {
    const svc = (await workload(emily, 'svc')).pid as number
    for (const [node, name, mark] of [[alice, 'svc@emily', 'peer'], [emily, 'svc', 'local']] as const) {
      const file = join(marks, mark)
      expect(await node.cli(['exec', '-d', name, '--', 'sh', '-c', `echo $$ > ${file}.tmp; mv ${file}.tmp ${file}; exec sleep 1000`])).toEqual({ code: 0, stdout: '', stderr: '' })
      await until(`the ${mark} command to run`, () => existsSync(file))
      const pid = Number(readFileSync(file, 'utf8'))
      started.push(pid)
      expect(isAlive(pid)).toBe(true)
      expect(readlinkSync(`/proc/${pid}/ns/mnt`)).toBe(readlinkSync(`/proc/${svc}/ns/mnt`))
    }
    expect(await alice.cli(['exec', '-d', 'svc@emily', '--', 'no-such-command'])).toEqual({ code: 127, stdout: '', stderr: 'aurae: cannot run no-such-command: not found\n' })
    expect(await workload(emily, 'svc')).toMatchObject({ state: 'running', pid: svc })
  })

  it('pipes stdin to a command on the peer with exec -i, and closes its stdin at the end', async () => {
    expect(await alice.cli(['exec', '-i', 'svc@emily', '--', 'sh', '-c', 'cat; echo end=$?'], { input: 'line one\nline two\n' })).toEqual({ code: 0, stdout: 'line one\nline two\nend=0\n', stderr: '' })
    // More than the input window, through the mesh both ways.
    const big = 'x'.repeat(3 * 1024 * 1024)
    expect(await alice.cli(['exec', '-i', 'svc@emily', '--', 'sh', '-c', 'wc -c; exit 4'], { input: big })).toMatchObject({ code: 4, stdout: `${big.length}\n` })
  })

  it('gives a command on the peer a terminal with exec -it: size and resize, Ctrl-C, Ctrl-D and the exit code', async () => {
    const out = await onTerminal(['exec', '-it', 'svc@emily', '--', 'sh'], [
      ['send', 'stty size; tty\n'], ['wait', '30 100'],
      ['resize', 40, 120], ['until', '40 120', 'stty size\n'],
      // Ctrl-C ends the command in the foreground (the shell drops the rest of the line, as it does on a terminal).
      ['send', 'sh -c "echo sleep\'\'ing; exec sleep 100"\n'], ['wait', 'sleeping'], ['send', '\x03'], ['send', 'echo aft\'\'er=$?\n'], ['wait', 'after=130'],
      ['send', 'cat; echo cat\'\'done\n'], ['send', 'hello\n'], ['wait', 'hello'], ['send', '\x04'], ['wait', 'catdone'],
      ['send', 'exit 7\n']
    ])
    expect(out).toMatch(/exit=7\n$/)
    // The remote terminal's lines arrive as it wrote them: this terminal adds no second carriage return.
    expect(out).toMatch(/40 120\r\n/)
    expect(out).not.toContain('\r\r\n')
    // A terminal of its own on emily, not the one aurae runs on.
    const terminal = /pty=(\S+)/.exec(out)?.[1]
    expect(out).toMatch(/\/dev\/pts\/\d+/)
    expect(out.match(/\/dev\/pts\/\d+/g)?.filter(t => t !== terminal).length).toBeGreaterThan(0)
  })

  it('gives an executable of this node a terminal of its own with exec -it', async () => {
    const out = await onTerminal(['exec', '-it', 'svc', '--', 'sh', '-c', 'tty; exit 3'], [['wait', '/dev/pts/']], emily)
    const terminal = /pty=(\S+)/.exec(out)?.[1]
    expect(out).toMatch(/exit=3\n$/)
    expect(out.split('\n')[0].trim()).toMatch(/^\/dev\/pts\/\d+$/)
    expect(out.split('\n')[0].trim()).not.toBe(terminal)
  }, 60_000)

  it('leaves nothing running on the peer when the caller is killed mid-session', async () => {
    // Without a terminal: the command gets SIGTERM.
    const cli = alice.spawnCli(['exec', '-i', 'svc@emily', '--', 'sh', '-c', 'echo $$; exec sleep 1000'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let said = ''
    cli.stdout?.on('data', d => { said += String(d) })
    const piped = Number(await until('the command to say its pid', () => /^\d+\n/.exec(said)?.[0]))
    started.push(piped)
    cli.kill('SIGKILL')
    await until('the command without a terminal to end', () => !isAlive(piped))
    // On a terminal: a hangup.
    const out = await onTerminal(['exec', '-it', 'svc@emily', '--', 'sh'], [['send', 'echo p\'\'id=$$; sleep 1000\n'], ['wait', 'pid='], ['wait', '\n'], ['kill']])
    const shell = Number(/pid=(\d+)/.exec(out)?.[1])
    started.push(shell)
    expect(shell).toBeGreaterThan(0)
    await until('the shell on a terminal to end', () => !isAlive(shell))
    await until('no aurae-pty to be left', () => helpers().length === 0)
    expect(await workload(emily, 'svc')).toMatchObject({ state: 'running' })
  })

  it('refuses an exec session to a libp2p peer the node does not trust', async () => {
    const carol = await startNode('carol')
    const stranger = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: () => false } })
    try {
      expect((await carol.cli(['exec', '-d', 'job', '--', 'sleep', '1000'])).code).toBe(0)
      const addr = JSON.parse((await carol.cli(['status', '--json'])).stdout).mesh.addrs[0]
      const stream = await stranger.dialProtocol(multiaddr(addr), '/aurae/rpc/1.0.0')
      const lp = lpStream(stream)
      const first = WorkloadServiceExecInput.encode({ request: { name: 'job', command: ['sh', '-c', `touch ${marks}/stranger`], env: {}, workdir: '', tty: false, direct: false, detach: false }, stdin: Buffer.alloc(0), stdinEnd: false }).finish()
      await lp.write(RpcRequest.encode({ method: '/aurae.workloads.v0.WorkloadService/ExecSession', payload: Buffer.from(first), callerName: 'mallory', window: 0 }).finish())
      const answer = RpcResponse.decode((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray())
      expect(answer).toMatchObject({ end: true, code: 7, error: 'carol does not trust mallory — peer first with "aurae proxy"' })
      expect(existsSync(join(marks, 'stranger'))).toBe(false)
    } finally {
      await stranger.stop()
      await carol.stop()
    }
  })
})
