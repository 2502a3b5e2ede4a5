import { spawn } from 'node:child_process'
import { readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { pushRedisLike, REDIS_UID } from '../helpers/redis-like.ts'
import { AURAE, ROOT, run, startNode, until, workload, type TestNode } from '../helpers/node.ts'

const RESIZE_PROBE = join(ROOT, 'test', 'helpers', 'resize-probe.py')

describe('containers are started, restarted, inspected and entered by name', () => {
  let registry: TestRegistry
  let node: TestNode
  let redis: string
  let port: number
  beforeAll(async () => {
    registry = await startRegistry()
    await pushRedisLike(registry.host)
    redis = `${registry.host}/redis`
    node = await startNode('verbs')
    port = 20000 + Math.floor(Math.random() * 20000)
    const started = await node.cli(['run', redis, '--name', 'kv', '-d', '-m', '64M', '-p', `${port}:6379`, '-e', 'MODE=test'])
    if (started.code !== 0) throw new Error(started.stderr)
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
  })

  const answers = async (): Promise<string | undefined> => await fetch(`http://127.0.0.1:${port}/`).then(async r => r.ok ? await r.text() : undefined, () => undefined)

  it('execs inside a running container: its namespaces, cgroup, user, env and workdir; its exit code is aurae\'s', async () => {
    const res = await node.cli(['exec', 'kv', '--', 'sh', '-c', 'id -u; echo $REDIS_VERSION $MODE; pwd; hostname; cat /proc/1/cmdline | tr "\\0" " "; echo; for n in mnt net pid; do [ "$(readlink /proc/1/ns/$n)" = "$(readlink /proc/self/ns/$n)" ] && echo same $n; done; echo oops >&2; exit 7'])
    expect(res.stderr).toBe('oops\n')
    expect(res.code).toBe(7)
    expect(res.stdout.split('\n')).toEqual([String(REDIS_UID), '7.2.4 test', '/data', 'kv', 'sh -c httpd -f -p 6379 -h /data & trap "kill $!; exit 0" INT TERM; wait ', 'same mnt', 'same net', 'same pid', ''])
    const cgroup = await node.cli(['exec', 'kv', '--', 'cat', '/proc/self/cgroup'])
    expect(cgroup.stdout).toMatch(/memory:.*\/ct-kv\n/)
    const flags = await node.cli(['exec', 'kv', '-e', 'MODE=override', '-w', '/tmp', '--', 'sh', '-c', 'echo $MODE $(pwd)'])
    expect(flags).toEqual({ code: 0, stdout: 'override /tmp\n', stderr: '' })
  })

  it('makes the command the container\'s process exactly as the runtime\'s own exec does', async () => {
    // What the kernel says of a process: user and groups, every capability set, no_new_privs, the seccomp filter,
    // namespaces, cgroups, signals, limits, session, environment and directory. The runtime's `exec` is the oracle.
    const probe = 'for f in Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp Seccomp_filters SigBlk SigIgn; do grep "^$f:" /proc/self/status; done; ' +
      'for n in cgroup ipc mnt net pid uts; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup /proc/self/limits /proc/self/oom_score_adj; ' +
      'ps -o pid,sid | tail -n +2 | head -1 | awk \'{print ($1 == $2) ? "session leader" : "in a session"}\'; env | sort; pwd; ' +
      'unshare -U true 2>&1; mount -t tmpfs none /mnt 2>&1; echo end'
    const ours = await node.cli(['exec', 'kv', '--', 'sh', '-c', probe])
    const state = join(node.data, 'oci-state')
    const runtime = (await run('runc', ['--root', state, 'list', '-q'])).code === 0 ? 'runc' : 'crun'
    const id = (await run(runtime, ['--root', state, 'list', '-q'])).stdout.split('\n').find(l => l.endsWith('-kv'))
    expect(id).toBeDefined()
    const theirs = await run(runtime, ['--root', state, 'exec', id ?? '', 'sh', '-c', probe])
    expect(ours.code).toBe(0)
    expect(ours.stdout).toContain(`Uid:\t${REDIS_UID}`)
    expect(ours.stdout).toMatch(/Seccomp:\t2\n/)
    expect(ours.stdout).toContain('NoNewPrivs:\t1')
    expect(ours.stdout).toContain('end\n')
    expect(ours.stdout).toBe(theirs.stdout)
  })

  it('enters only the container\'s own process: a PID reused, or one outside its cgroup, is refused before anything runs', async () => {
    const enter = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-enter')
    const plan = join(node.data, 'containers', 'kv', 'exec.plan')
    const pid = (await workload(node, 'kv')).pid
    const startOf = (p: number): string => readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19]
    const reused = await run(enter, [plan, String(pid), String(Number(startOf(pid)) - 1), '-', '--', 'sh', '-c', 'echo ran'])
    expect(reused).toEqual({ code: 125, stdout: '', stderr: `aurae: cannot run the command in the container: the container's process ${pid} is gone\n` })
    const daemon = await node.daemonPid()
    const outside = await run(enter, [plan, String(daemon), startOf(daemon), '-', '--', 'sh', '-c', 'echo ran'])
    expect(outside.code).toBe(125)
    expect(outside.stdout).toBe('')
    expect(outside.stderr).toMatch(new RegExp(`^aurae: cannot run the command in the container: process ${daemon} is not the container's \\(not in cgroup /aurae/[0-9a-f]+/ct-kv\\)\n$`))
    const entered = await run(enter, [plan, String(pid), startOf(pid), '-', '--', 'sh', '-c', 'echo ran'])
    expect(entered).toEqual({ code: 0, stdout: 'ran\n', stderr: '' })
  })

  it('execs -it with a terminal of its own that follows a resize, and passes on the exit code', async () => {
    const onTerminal = (args: string[]): string => [process.execPath, AURAE, '--sock', node.sock, ...args].join(' ')
    // script(1) gives the CLI a terminal and types what it reads on its stdin.
    const shell = await run('script', ['-qec', onTerminal(['exec', '-it', 'kv', '--', 'sh', '-c', '"id -u; tty; echo \\$TERM; exit 3"']), '/dev/null'])
    expect(shell.code).toBe(3)
    // script(1) may type a NUL at the end of its own (empty) stdin, which the container's terminal echoes as ^@.
    expect(shell.stdout).toMatch(new RegExp(`${REDIS_UID}\r\n(\\^@)?/dev/pts/0\r\n(\\^@)?xterm\r\n`))
    const resized = await run('python3', [RESIZE_PROBE, process.execPath, AURAE, '--sock', node.sock, 'exec', '-it', 'kv', '--', 'sh', '-c', 'stty size; read x; stty size; exit 4'])
    expect(resized.stdout).toMatch(/30 100\r\n(.|\r\n)*40 120\r\n(.|\r\n)*exit=4\n$/)
    expect(await node.cli(['exec', '-t', 'kv', '--', 'true'])).toEqual({ code: 125, stdout: '', stderr: 'aurae: the input device is not a TTY; leave out -t\n' })
  })

  it('execs -it as docker exec -it: Ctrl-C interrupts the command inside, Ctrl-D ends its input', async () => {
    // Keys are typed once the command inside is ready, as a person would: what comes before is the outer terminal's.
    const typing = async (script: string, keys: (seen: () => string, type: (k: string) => void) => Promise<void>): Promise<{ code: number | null, seen: string }> => {
      const cli = spawn('script', ['-qec', [process.execPath, AURAE, '--sock', node.sock, 'exec', '-it', 'kv', '--', 'sh', '-c', `"${script}"`].join(' '), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
      let seen = ''
      cli.stdout.on('data', d => { seen += String(d) })
      const exited = new Promise<number | null>(resolve => cli.on('exit', resolve))
      try {
        await keys(() => seen, k => cli.stdin.write(k))
        return { code: await exited, seen }
      } finally {
        if (cli.exitCode === null) cli.kill('SIGKILL')
      }
    }
    const interrupted = await typing('echo ready; sleep 100; echo after', async (seen, type) => {
      await until('the command to be ready', () => seen().includes('ready'))
      type('\x03')
    })
    expect(interrupted.code).toBe(130)
    expect(interrupted.seen).not.toContain('after')
    const ended = await typing('echo ready; cat; echo cat-ended', async (seen, type) => {
      await until('the command to be ready', () => seen().includes('ready'))
      type('typed\n')
      await until('cat to echo the line', () => seen().split('typed').length === 3)
      type('\x04')
    })
    expect(ended.code).toBe(0)
    expect(ended.seen).toContain('cat-ended')
  })

  it('execs -d inside a running container: returns once the command runs, its output discarded; one line when it cannot', async () => {
    expect(await node.cli(['exec', '-d', 'kv', '--', 'sh', '-c', 'echo to-nowhere; id -u > /tmp/detached; exec sleep 1000'])).toEqual({ code: 0, stdout: '', stderr: '' })
    await until('the detached command to run', async () => (await node.cli(['exec', 'kv', '--', 'cat', '/tmp/detached'])).stdout === `${REDIS_UID}\n`)
    expect((await node.cli(['exec', 'kv', '--', 'sh', '-c', 'for p in /proc/[0-9]*; do cat $p/cmdline; echo; done'])).stdout).toContain('sleep\u00001000')
    expect(await node.cli(['exec', '-d', 'kv', '--', '/nope'])).toEqual({ code: 127, stdout: '', stderr: 'aurae: cannot run the command in the container: exec: "/nope": stat /nope: no such file or directory\n' })
    expect(await node.cli(['logs', 'kv'])).not.toMatchObject({ stdout: expect.stringContaining('to-nowhere') })
  })

  it('says why it cannot exec: a command missing inside, a workload that is not running', async () => {
    // Docker's codes, one line each: 127 for a command that is not there, 126 for one that cannot run.
    expect(await node.cli(['exec', 'kv', '--', '/nope'])).toEqual({ code: 127, stdout: '', stderr: 'aurae: cannot run the command in the container: "/nope": no such file or directory\n' })
    expect(await node.cli(['exec', 'kv', '--', 'nope'])).toEqual({ code: 127, stdout: '', stderr: 'aurae: cannot run the command in the container: "nope": executable file not found in $PATH\n' })
    expect(await node.cli(['exec', 'kv', '--', '/data'])).toEqual({ code: 126, stdout: '', stderr: 'aurae: cannot run the command in the container: "/data": permission denied\n' })
    expect(await node.cli(['exec', 'kv', '-w', '/nowhere', '--', 'true'])).toEqual({ code: 126, stdout: '', stderr: 'aurae: cannot run the command in the container: cannot change to the working directory /nowhere: No such file or directory\n' })
    await node.cli(['run', redis, '--name', 'done', '--', 'true'])
    const ended = await node.cli(['exec', 'done', '--', 'true'])
    expect(ended).toEqual({ code: 125, stdout: '', stderr: 'aurae: workload done is not running\n' })
    await node.cli(['rm', 'done'])
  })

  it('starts a new executable for a name no workload has, and says so on a terminal', async () => {
    // script(1) gives the CLI a terminal, as a person at a shell has.
    const res = await run('script', ['-qec', [process.execPath, AURAE, '--sock', node.sock, 'exec', 'fresh', '--', 'echo', 'new'].join(' '), '/dev/null'])
    expect(res).toEqual({ code: 0, stdout: 'aurae: no workload named fresh; starting a new executable of that name\r\nnew\r\n', stderr: '' })
    expect(await workload(node, 'fresh')).toMatchObject({ kind: 'executable', state: 'exited', exitCode: 0 })
    // A script's stderr stays the workload's own.
    expect(await node.cli(['exec', 'fresh2', '--', 'echo', 'new'])).toEqual({ code: 0, stdout: 'new\n', stderr: '' })
  })

  it('inspects the whole record as JSON: image, command, ports, volumes, limits, pids and state history', async () => {
    const res = await node.cli(['inspect', 'kv'])
    expect(res.code).toBe(0)
    const [rec] = JSON.parse(res.stdout)
    expect(rec).toMatchObject({ name: 'kv', kind: 'container', state: 'running' })
    expect(rec.pid).toBeGreaterThan(0)
    expect(rec.monitorPid).toBeGreaterThan(0)
    expect(rec.spec.limits).toMatchObject({ memoryBytes: 64 * 1024 * 1024 })
    expect(rec.spec.container).toMatchObject({ image: `${redis}:latest`, env: { MODE: 'test' }, ports: [{ hostPort: port, containerPort: 6379, protocol: 'tcp' }] })
    expect(rec.history.map((h: any) => h.state)).toEqual(['created', 'running'])
    const missing = await node.cli(['inspect', 'kv', 'nobody'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe('aurae: no workload named nobody\n')
    expect(JSON.parse(missing.stdout).map((w: any) => w.name)).toEqual(['kv'])
  })

  it('starts a stopped container again from its recorded spec, and restarts a running one', async () => {
    await until('kv to answer', answers)
    expect(await node.cli(['stop', 'kv', '-t', '1'])).toMatchObject({ code: 0 })
    expect(await answers()).toBeUndefined()
    expect(await node.cli(['start', 'kv'])).toMatchObject({ code: 0, stdout: 'kv\n' })
    expect(await until('kv to answer again', answers)).toBe('PONG\n')
    const before = await workload(node, 'kv')
    expect(await node.cli(['restart', 'kv', '-t', '1'])).toMatchObject({ code: 0, stdout: 'kv\n' })
    const after = await workload(node, 'kv')
    expect(after.state).toBe('running')
    expect(after.pid).not.toBe(before.pid)
    expect(await until('kv to answer after the restart', answers)).toBe('PONG\n')
    const [rec] = JSON.parse((await node.cli(['inspect', 'kv'])).stdout)
    expect(rec.history.map((h: any) => h.state)).toEqual(['created', 'running', 'exited', 'created', 'running', 'exited', 'created', 'running'])
    expect(rec.spec.container.env).toEqual({ MODE: 'test' })
    const missing = await node.cli(['start', 'nobody'])
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'aurae: no workload named nobody\n' })
  })

  it('execs inside a running executable: its cgroup and its mount namespace, where the node\'s data is hidden', async () => {
    expect(await node.cli(['exec', 'job', '-d', '--', 'sleep', '1000'])).toMatchObject({ code: 0, stdout: 'job\n' })
    const pid = (await workload(node, 'job')).pid as number
    const res = await node.cli(['exec', 'job', '--', 'sh', '-c', `readlink /proc/self/ns/mnt; grep -c "/wl-job$" /proc/self/cgroup; echo $AURAE_WORKLOAD; ls ${node.data} 2>/dev/null | wc -l`])
    expect(res.stderr).toBe('')
    const [mnt, cgroups, named, visible] = res.stdout.trim().split('\n')
    expect(mnt).toBe(readlinkSync(`/proc/${pid}/ns/mnt`))
    expect(mnt).not.toBe(readlinkSync('/proc/self/ns/mnt'))
    // In every hierarchy the workload is in, as the workload's own process is.
    expect(Number(cgroups)).toBeGreaterThan(0)
    expect(Number(cgroups)).toBe(readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(l => l.endsWith('/wl-job')).length)
    expect(named).toBe('job')
    expect(visible).toBe('0')
    await node.cli(['rm', '-f', 'job'])
  })
})
