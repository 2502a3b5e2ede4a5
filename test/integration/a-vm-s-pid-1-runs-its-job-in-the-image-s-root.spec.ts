// A real VM (qemu, software emulation) booted for one job, as the VM driver boots it: aurae-init --job as PID 1 runs
// the command in an overlay of an image's root (a busybox root made here, shared read-only), with a read-only and a
// read-write volume, as the job's user, in its working directory, with its environment and hostname. Its stdout and
// stderr come out on their virtio-serial ports into two pipes (as into a monitor's), a signal goes in on the control
// port, and its exit comes back on the status port before the machine powers off. While it runs, commands run beside
// it through the exec port and the host's aurae-vm-exec, as `aurae exec` runs them.
import { spawn } from 'node:child_process'
import { chownSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync, writeSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { guestKernel } from '../../src/runtime/vm/guest-kernel.ts'
import { initramfs, runFiles } from '../../src/runtime/vm/initramfs.ts'
import { encodeJob, parseGuestEnd } from '../../src/runtime/vm/job.ts'
import { PORTS, QEMU, qemuArgs, serveShares } from '../../src/runtime/vm/qemu.ts'
import { isAlive, type Result, ROOT, run, until } from '../helpers/node.ts'

const INIT = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-init')
const VM_EXEC = join(ROOT, 'dist', 'runtime', 'monitor', 'aurae-vm-exec')
const LINES = 3000
const EXEC_LINES = 20000

/** A FIFO that qemu writes a port's output into, read here as it comes: the end qemu gets, and what was read. */
function pipeFrom (path: string): { writeEnd: number, text: () => string, ended: () => boolean, reader: Socket } {
  const readEnd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const writeEnd = openSync(path, constants.O_WRONLY)
  const reader = new Socket({ fd: readEnd, readable: true, writable: false })
  let text = ''
  let ended = false
  reader.on('data', d => { text += String(d) })
  reader.on('end', () => { ended = true })
  return { writeEnd, text: () => text, ended: () => ended, reader }
}

/** A root of busybox alone, with a user whose home holds two files of theirs. */
function busyboxRoot (image: string): void {
  mkdirSync(join(image, 'bin'), { recursive: true })
  mkdirSync(join(image, 'etc'))
  copyFileSync('/bin/busybox', join(image, 'bin', 'busybox'))
  for (const applet of ['sh', 'id', 'cat', 'hostname', 'sleep', 'rm', 'seq']) symlinkSync('busybox', join(image, 'bin', applet))
  writeFileSync(join(image, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n')
  writeFileSync(join(image, 'etc', 'group'), 'root:x:0:\ntty:x:5:\nuser:x:1000:\n')
  writeFileSync(join(image, 'etc', 'motd'), 'from the image\n')
  const home = join(image, 'home', 'user')
  mkdirSync(home, { recursive: true })
  writeFileSync(join(home, 'notes'), 'as the image has it\n')
  writeFileSync(join(home, 'gone'), 'removed in the VM only\n')
  for (const p of [home, join(home, 'notes'), join(home, 'gone')]) chownSync(p, 1000, 1000)
}

// Runs as uid 1000 in /home/user/work. What it sees first, then its writes, then a wait for SIGUSR1 from the host
// (meanwhile the host runs commands beside it), then what a detached one wrote, then many lines on each stream just
// before it exits.
const SCRIPT = `echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) pwd=$(pwd) host=$(hostname) greeting=$GREETING path=$PATH"
cat /etc/motd
echo changed > /home/user/notes && cat /home/user/notes
echo made > /home/user/made
rm /home/user/gone
cat /data/ro/hello
if { echo x > /data/ro/nope; } 2>/dev/null; then echo ro-written; else echo ro-refused; fi
echo through > /data/rw/out
got=
trap 'got=1' USR1
echo ready
while [ -z "$got" ]; do sleep 0.1; done
echo got-usr1
while [ ! -e /home/user/detached ]; do sleep 0.1; done
cat /home/user/detached
i=1
while [ $i -le ${LINES} ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done
exit 3`

describe('a VM\'s PID 1 runs its job', () => {
  it('in an overlay of the image\'s root, with its volumes, user, workdir, environment and hostname, runs commands beside it, and says how it ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aurae-vm-job-'))
    const children: Array<ReturnType<typeof spawn>> = []
    const readers: Socket[] = []
    const execSocket = join(dir, 'exec.sock')
    const execErrors = join(dir, 'exec.err')
    /** aurae-vm-exec started with `args`: what it has written so far, and its exit code once it has ended. */
    const startExec = (args: string[]): { stdout: () => string, stderr: () => string, code: () => number | null, kill: () => void } => {
      const child = spawn(VM_EXEC, [execSocket, execErrors, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      children.push(child)
      let stdout = ''
      let stderr = ''
      let code: number | null = null
      child.stdout?.on('data', d => { stdout += String(d) })
      child.stderr?.on('data', d => { stderr += String(d) })
      child.on('close', c => { code = c ?? -1 })
      return { stdout: () => stdout, stderr: () => stderr, code: () => code, kill: () => child.kill('SIGKILL') }
    }
    const exec = async (args: string[]): Promise<Result> => {
      const e = startExec(args)
      await until(`aurae-vm-exec ${args.join(' ')} to end`, () => e.code() !== null, 60_000)
      return { code: e.code() ?? -1, stdout: e.stdout(), stderr: e.stderr() }
    }
    /** The command lines of the guest's processes, as the workload's user sees them. */
    const processes = async (): Promise<string> => (await exec(['--', 'sh', '-c', 'cat /proc/[0-9]*/cmdline 2>/dev/null; echo'])).stdout.replaceAll('\0', ' ')
    try {
      const kernel = await guestKernel(join(dir, 'kernel'))
      const image = join(dir, 'image')
      busyboxRoot(image)
      mkdirSync(join(dir, 'ro'))
      writeFileSync(join(dir, 'ro', 'hello'), 'a read-only volume\n')
      mkdirSync(join(dir, 'rw'))
      // The user's own: only the read-only mount can refuse them a write.
      for (const v of ['ro', 'rw']) chownSync(join(dir, v), 1000, 1000)
      const shares = [
        { tag: 'root', path: '/run/aurae/image', source: image, readOnly: true },
        { tag: 'vol0', path: '/run/aurae/vol0', source: join(dir, 'ro'), readOnly: true },
        { tag: 'vol1', path: '/run/aurae/vol1', source: join(dir, 'rw'), readOnly: false }
      ]
      const job = encodeJob({
        root: '/run/aurae/image',
        argv: ['/bin/sh', '-c', SCRIPT],
        env: ['HOME=/home/user', 'GREETING=hello  world'],
        workdir: '/home/user/work',
        uid: 1000,
        gid: 1000,
        groups: [5],
        binds: [{ source: '/run/aurae/vol0', target: '/data/ro', readOnly: true }, { source: '/run/aurae/vol1', target: '/data/rw', readOnly: false }],
        memoryBytes: 64 * 2 ** 20,
        pids: 100,
        stopSignal: 15,
        hostname: 'vm-job'
      })
      const initrd = join(dir, 'initrd')
      writeFileSync(initrd, Buffer.concat([
        initramfs({ kernel, init: INIT, busybox: '/bin/busybox', shares: [] }),
        runFiles(shares.map(({ tag, path, readOnly }) => ({ tag, path, readOnly })), job)
      ]))
      const served = await serveShares(shares, dir)
      children.push(...served.daemons)
      const control = join(dir, 'control')
      for (const f of ['stdout', 'stderr', 'control.in', 'control.out']) expect((await run('mkfifo', [join(dir, f)])).code).toBe(0)
      const stdout = pipeFrom(join(dir, 'stdout'))
      const stderr = pipeFrom(join(dir, 'stderr'))
      readers.push(stdout.reader, stderr.reader)
      const status = join(dir, 'status')
      const qemu = spawn(QEMU, qemuArgs({
        kernel: kernel.vmlinuz,
        initrd,
        memoryMb: 256,
        cpus: 1,
        accel: 'tcg',
        shares: served.sockets,
        console: join(dir, 'console'),
        ports: [
          { name: PORTS.stdout, backend: 'file,path=/proc/self/fd/3' },
          { name: PORTS.stderr, backend: 'file,path=/proc/self/fd/4' },
          { name: PORTS.status, backend: `file,path=${status}` },
          { name: PORTS.control, backend: `pipe,path=${control}` },
          { name: PORTS.exec, backend: `socket,path=${execSocket},server=on,wait=off` }
        ]
      }), { stdio: ['ignore', 'ignore', 'pipe', stdout.writeEnd, stderr.writeEnd] })
      children.push(qemu)
      closeSync(stdout.writeEnd)
      closeSync(stderr.writeEnd)
      let qemuSaid = ''
      qemu.stderr?.on('data', d => { qemuSaid += String(d) })

      await until('the workload to be ready for its signal', () => stdout.text().includes('ready\n'), 120_000)

      // A command beside the workload: its stdout, stderr and exit code apart, as the job's user in the job's workdir.
      expect(await exec(['--', 'sh', '-c', 'echo in; echo err >&2; id -u; pwd; exit 4'])).toEqual({ code: 4, stdout: 'in\n1000\n/home/user/work\n', stderr: 'err\n' })
      expect(existsSync(execErrors)).toBe(false)
      // Another after it: the request's variables over the job's, its working directory.
      expect(await exec(['--env', 'GREETING=hi', '--env', 'EXTRA=more', '--workdir', '/home/user', '--', 'sh', '-c', 'echo "$GREETING $EXTRA $HOME"; pwd'])).toEqual({ code: 0, stdout: 'hi more /home/user\n/home/user\n', stderr: '' })
      // A command that is not there.
      expect(await exec(['--', '/no/such'])).toEqual({ code: 127, stdout: '', stderr: '' })
      expect(readFileSync(execErrors, 'utf8')).toBe('127 exec "/no/such": no such file or directory\n')
      rmSync(execErrors)
      // Much output, all of it, in order.
      const many = await exec(['--', 'seq', String(EXEC_LINES)])
      expect(many.code).toBe(0)
      expect(many.stdout === Array.from({ length: EXEC_LINES }, (_, i) => `${i + 1}\n`).join(''), `${many.stdout.length} bytes`).toBe(true)
      // A caller that goes away while its command streams: the command is killed, and the next caller gets its own
      // output alone.
      const left = startExec(['--', 'sh', '-c', 'echo started; while :; do echo left-behind; done'])
      await until('the command to stream', () => left.stdout().startsWith('started\nleft-behind\n'), 60_000)
      left.kill()
      await until('the command whose caller went away to be killed', async () => !(await processes()).includes('left-behind'), 60_000)
      expect(await exec(['--', 'sh', '-c', 'echo after'])).toEqual({ code: 0, stdout: 'after\n', stderr: '' })
      // A detached command: its end as soon as it has started; it goes on, and the workload sees what it wrote.
      expect(await exec(['--detach', '--', 'sh', '-c', 'echo detached > /home/user/detached; exec sleep 1000'])).toEqual({ code: 0, stdout: '', stderr: '' })
      await until('the detached command to run on', async () => (await processes()).includes('sleep 1000 '), 60_000)
      expect(existsSync(execErrors)).toBe(false)

      const fd = openSync(`${control}.in`, constants.O_WRONLY | constants.O_NONBLOCK)
      writeSync(fd, '10\n')
      closeSync(fd)
      await until('the VM to power off', () => qemu.exitCode !== null, 120_000)
      expect(qemu.exitCode).toBe(0)
      await until('the output to end', () => stdout.ended() && stderr.ended(), 20_000)
      const said = existsSync(join(dir, 'console')) ? readFileSync(join(dir, 'console'), 'utf8') : ''
      expect(qemuSaid, said).toBe('')

      const numbered = (prefix: string): string => Array.from({ length: LINES }, (_, i) => `${prefix} ${i + 1}\n`).join('')
      expect(stdout.text()).toBe([
        'uid=1000 gid=1000 groups=1000 5 pwd=/home/user/work host=vm-job greeting=hello  world path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'from the image', 'changed', 'a read-only volume', 'ro-refused', 'ready', 'got-usr1', 'detached', ''
      ].join('\n') + numbered('out'))
      expect(stderr.text()).toBe(numbered('err'))
      expect(readFileSync(status, 'utf8')).toBe('started\nexit 3 0\n')
      expect(parseGuestEnd(readFileSync(status, 'utf8'))).toEqual({ exitCode: 3, signal: null, oomKills: 0 })

      // The image is as it was: the writes went to the overlay's upper layer, in the guest's memory.
      expect(readFileSync(join(image, 'home', 'user', 'notes'), 'utf8')).toBe('as the image has it\n')
      expect(existsSync(join(image, 'home', 'user', 'gone'))).toBe(true)
      expect(existsSync(join(image, 'home', 'user', 'made'))).toBe(false)
      expect(existsSync(join(image, 'home', 'user', 'work'))).toBe(false)
      expect(existsSync(join(image, 'data'))).toBe(false)
      // The read-write volume is the host's directory; the read-only one took nothing.
      expect(readFileSync(join(dir, 'rw', 'out'), 'utf8')).toBe('through\n')
      expect(existsSync(join(dir, 'ro', 'nope'))).toBe(false)
    } finally {
      for (const r of readers) r.destroy()
      for (const c of children) if (c.pid !== undefined && isAlive(c.pid)) c.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  }, 240_000)
})
