import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { busyboxLayer, layerTar, nginxLayer, pushImage, startRegistry, type TestRegistry } from '../helpers/registry.ts'
import { run, startNode, until, type TestNode } from '../helpers/node.ts'

// Calls Docker's default profile refuses, made directly so no libc wrapper gets in the way.
const PROBE = `
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static void show(const char *name, long r) { printf("%s %s\\n", name, r < 0 ? strerrorname_np(errno) : "allowed"); }
int main(int argc, char **argv) {
  // getpid through the x32 ABI (x86-64's numbers with bit 30 set).
  if (argc > 1 && strcmp(argv[1], "x32") == 0) return show("x32 getpid", syscall(0x40000000 | SYS_getpid)), 0;
  show("keyctl", syscall(SYS_keyctl, 0, -3, 0));
  show("add_key", syscall(SYS_add_key, "user", "aurae-probe", "x", 1, -2));
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.exclude_kernel = 1;
  show("perf_event_open", syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  char params[120];
  memset(params, 0, sizeof params);
  show("io_uring_setup", syscall(SYS_io_uring_setup, 1, params));
  return 0;
}
`

const APPLETS = ['mkdir', 'mknod', 'mount', 'unshare', 'grep', 'rmdir']

describe('containers stay confined', () => {
  let registry: TestRegistry
  let node: TestNode
  let image: string
  let work: string
  const cgroupRoot = '/sys/fs/cgroup'
  const evil = `aurae-evil-${process.pid}`
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'aurae-confined-'))
    writeFileSync(join(work, 'probe.c'), PROBE)
    const cc = await run('cc', ['-static', '-O2', '-o', join(work, 'probe'), join(work, 'probe.c')])
    if (cc.code !== 0) throw new Error(`cc -static failed: ${cc.stderr}`)
    registry = await startRegistry()
    // The probe, the applets the attacks use, and a file whose directories the layer only implies.
    const extra = await layerTar([
      { name: 'bin/probe', body: readFileSync(join(work, 'probe')), mode: 0o755 },
      ...APPLETS.map(a => ({ name: `bin/${a}`, linkname: 'busybox' })),
      { name: 'opt/app/hello.txt', body: 'hello from an implied directory\n' }
    ])
    await pushImage(registry.host, 'busybox', 'latest', [await busyboxLayer([{ name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/sh\n' }]), extra])
    image = `${registry.host}/busybox`
    node = await startNode('confined')
  })
  afterAll(async () => {
    await node?.stop()
    registry?.stop()
    // Only if an attack got through: what it made in the host's hierarchies.
    for (const c of ['memory', 'pids']) {
      for (const d of existsSync(join(cgroupRoot, c)) ? readdirSync(join(cgroupRoot, c)) : []) if (d.startsWith(evil)) rmdirSync(join(cgroupRoot, c, d))
    }
    rmSync(work, { recursive: true, force: true })
  })

  const nodeGroup = (): string => createHash('sha256').update(node.data).digest('hex').slice(0, 12)

  for (const net of ['host', 'bridge', 'none']) {
    it(`keeps sysfs and the cgroup hierarchies read-only all the way down (--net ${net})`, async () => {
      const victim = `victim-${net}`
      expect((await node.cli(['run', image, '--name', victim, '-d', '--net', 'none', '--memory', '64M', '--', 'sleep', '300'])).code).toBe(0)
      const limit = join(cgroupRoot, 'memory', 'aurae', nodeGroup(), `ct-${victim}`, 'memory.limit_in_bytes')
      await until('the victim\'s limit', () => existsSync(limit) && readFileSync(limit, 'utf8').trim() === String(64 * 1024 * 1024))
      // What a container moved into the host's hierarchies did: escape its own limits, change another
      // workload's, make cgroups on the host, and leave its device rules behind.
      const attack = [
        `for c in memory pids; do echo $$ > ${cgroupRoot}/$c/cgroup.procs && echo "ESCAPED $c"; done`,
        `echo 1048576 > ${cgroupRoot}/memory/aurae/${nodeGroup()}/ct-${victim}/memory.limit_in_bytes && echo WROTE-LIMIT`,
        `for c in memory pids; do mkdir ${cgroupRoot}/$c/${evil}-${net} && echo "MADE $c"; done`,
        `echo $$ > ${cgroupRoot}/devices/cgroup.procs && echo ESCAPED devices`,
        'mknod /dev/lc c 10 237; (exec 3<>/dev/lc) && echo OPENED-LOOP-CONTROL',
        'echo 1 > /sys/kernel/mm/ksm/run && echo WROTE-SYSFS',
        'echo ---; cat /proc/self/cgroup; echo ---; cat /proc/self/mountinfo'
      ].join('; ')
      const res = await node.cli(['run', image, '--name', `attacker-${net}`, '--rm', '--net', net, '--', 'sh', '-c', attack])
      expect(res.code).toBe(0)
      const [said, cgroups, mountinfo] = res.stdout.split('---\n')
      expect(said).toBe('')
      expect(res.stderr).not.toBe('')
      // It stayed in its own cgroups.
      for (const c of ['memory', 'pids', 'devices']) {
        expect(cgroups.split('\n').find(l => l.split(':')[1] === c)).toMatch(new RegExp(`:/aurae/${nodeGroup()}/ct-attacker-${net}$`))
      }
      // Every mount under /sys is read-only, the cgroup hierarchies included (a mount covered by
      // another on the same point cannot be reached, so only the top one counts).
      const mounts = mountinfo.split('\n').map(l => l.split(' ')).filter(f => f[4]?.startsWith('/sys'))
      const sys = mounts.filter(f => !mounts.some(o => o[4] === f[4] && o[1] === f[0]))
      expect(sys.map(f => f[4])).toEqual(expect.arrayContaining(['/sys', '/sys/fs/cgroup', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/devices']))
      for (const f of sys) expect(`${f[4]} ${f[5]}`).toMatch(/ ro(,|$)/)
      expect(readFileSync(limit, 'utf8').trim()).toBe(String(64 * 1024 * 1024))
      for (const c of ['memory', 'pids']) expect(existsSync(join(cgroupRoot, c, `${evil}-${net}`))).toBe(false)
      expect((await node.cli(['rm', '-f', victim])).code).toBe(0)
    })
  }

  it('filters system calls as Docker\'s default profile does, unless told seccomp=unconfined', async () => {
    const res = await node.cli(['run', image, '--name', 'filtered', '--rm', '--', 'sh', '-c',
      'grep "^Seccomp:" /proc/self/status; probe; unshare -Urm sh -c "mount -t tmpfs none /etc && echo MOUNTED"'])
    expect(res.stdout).toBe('Seccomp:\t2\nkeyctl EPERM\nadd_key EPERM\nperf_event_open EPERM\nio_uring_setup EPERM\n')
    expect(res.stderr).toMatch(/unshare.*Operation not permitted/)
    const open = await node.cli(['run', image, '--name', 'unfiltered', '--rm', '--security-opt', 'seccomp=unconfined', '--', 'sh', '-c',
      'grep "^Seccomp:" /proc/self/status; probe; unshare -Urm sh -c "mount -t tmpfs none /etc && echo MOUNTED"'])
    // Without the filter the same calls reach the kernel: that is what the filter is for.
    expect(open.stdout).toMatch(/^Seccomp:\t0\nkeyctl allowed\nadd_key allowed\n.*\nMOUNTED\n$/s)
  })

  // x32 is a mode of x86-64 alone: on any other machine there is no such call to make.
  it.runIf(process.arch === 'x64')('kills a process that calls through the x32 ABI, which the filter leaves out', async () => {
    const res = await node.cli(['run', image, '--name', 'x32', '--rm', '--', 'probe', 'x32'])
    expect(res).toMatchObject({ code: 128 + 31, stdout: '' })
    // Unfiltered, the kernel answers for itself (ENOSYS where x32 is off, as in Debian's kernels).
    const open = await node.cli(['run', image, '--name', 'x32-open', '--rm', '--security-opt', 'seccomp=unconfined', '--', 'probe', 'x32'])
    expect(open).toMatchObject({ code: 0, stdout: expect.stringMatching(/^x32 getpid (ENOSYS|allowed)\n$/) })
  })

  it('refuses a --security-opt it does not know, as bad usage', async () => {
    const res = await node.cli(['run', image, '--name', 'badopt', '--rm', '--security-opt', 'apparmor=unconfined', '--', 'true'])
    expect(res).toEqual({ code: 2, stdout: '', stderr: 'aurae: unsupported --security-opt "apparmor=unconfined": this node takes seccomp=unconfined\n' })
  })

  it('masks and write-protects Docker\'s /proc and /sys paths', async () => {
    const res = await node.cli(['run', image, '--name', 'masked', '--rm', '--', 'sh', '-c',
      'for f in /proc/interrupts /proc/keys /proc/kcore /proc/timer_list /proc/sched_debug; do echo "$f $(cat $f | wc -c)"; done; for d in /sys/firmware /proc/acpi /proc/scsi; do echo "$d $(ls -A $d | wc -l)"; done; echo 1 > /proc/sysrq-trigger || echo refused'])
    expect(res.stdout).toBe('/proc/interrupts 0\n/proc/keys 0\n/proc/kcore 0\n/proc/timer_list 0\n/proc/sched_debug 0\n/sys/firmware 0\n/proc/acpi 0\n/proc/scsi 0\nrefused\n')
  })

  it('binds :ro volumes read-only recursively, submounts included', async () => {
    const shared = join(work, 'shared')
    const sub = join(shared, 'sub')
    mkdirSync(sub, { recursive: true })
    expect((await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'aurae-test', sub])).code).toBe(0)
    try {
      const res = await node.cli(['run', image, '--name', 'rro', '--rm', '-v', `${shared}:/data:ro`, '--', 'sh', '-c',
        'echo top > /data/top.txt; echo below > /data/sub/below.txt; ls /data/sub'])
      expect(res.stderr).toMatch(/can't create \/data\/top\.txt: Read-only file system/)
      expect(res.stderr).toMatch(/can't create \/data\/sub\/below\.txt: Read-only file system/)
      expect(readdirSync(sub)).toEqual([])
      expect(existsSync(join(shared, 'top.txt'))).toBe(false)
    } finally {
      await run('umount', [sub])
    }
  })

  it('lets a non-root user through directories a layer only implies, and still runs nginx', async () => {
    const res = await node.cli(['run', image, '--name', 'traverse', '--rm', '-u', 'web', '--', 'sh', '-c', 'id -u; cat /opt/app/hello.txt; ls -ld /opt /opt/app'])
    expect(res.stdout).toMatch(/^33\nhello from an implied directory\ndrwxr-xr-x .* \/opt\ndrwxr-xr-x .* \/opt\/app\n$/)
    await pushImage(registry.host, 'nginx', 'latest', [await nginxLayer('<p>filtered</p>\n')], { config: { Cmd: ['/usr/sbin/nginx'] } })
    const port = 20000 + Math.floor(Math.random() * 20000)
    expect((await node.cli(['run', `${registry.host}/nginx`, '-p', `${port}:80`, '-d'])).code).toBe(0)
    const page = await until('nginx to answer', async () => await fetch(`http://127.0.0.1:${port}/`).then(async r => r.ok ? await r.text() : undefined, () => undefined))
    expect(page).toBe('<p>filtered</p>\n')
    expect((await node.cli(['rm', '-f', 'nginx'])).code).toBe(0)
  })
})
