// Images run in micro-VMs of their own: qemu boots the guest kernel with an initramfs whose PID 1, aurae-init, runs
// the image's command in the image's root (shared read-only over virtiofs, a tmpfs over it for writes), as Kata
// runs a container in a VM. The monitor supervises a small shell that starts the virtiofsds and qemu, and turns
// what the guest said of its workload's end into its own exit, so a VM is re-adopted, logged and restarted as any
// workload is. Its output comes out on two virtio-serial ports straight into the monitor's pipes; signals go in on
// a third, `exec` commands on a fourth; a stop presses the guest's power button (ACPI, over QMP), and SIGKILL ends
// qemu. It is on the node's bridge network as a container is, its ports published the same way.
//
// Two more kinds of guest boot the same way, with no image: a machine of its own disks (the VM service's; its root
// drive's init takes PID 1 from aurae-init) and a nested node (this project's auraed under aurae-init, which its
// host reaches over the mesh: node/nested-nodes.ts). For them a power-off is the end, exit 0.
import { execFile } from 'node:child_process'
import { closeSync, constants, openSync, writeSync } from 'node:fs'
import { appendFile, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { FailedPreconditionError } from '../../errors.ts'
import { signalName } from '../../common/signals.ts'
import { VM_READY_SECONDS } from '../../common/node-defaults.ts'
import type { EnterPlan, LaunchPlan, Task, WorkloadDriver } from '../driver.ts'
import type { ContentStore } from '../image/content-store.ts'
import type { Images } from '../image/images.ts'
import { containerDir, IMAGE_NOTE, rootsDir } from '../image/unpacked-roots.ts'
import { processArgs, processCwd, processEnv, resolveUser, type ImageConfig } from '../container/oci-config.ts'
import { heldImage, imageRoot } from '../container/rootfs.ts'
import type { BridgeNetwork } from '../container/cni.ts'
import { etcTexts } from '../container/etc-files.ts'
import { signalNumber } from '../proc.ts'
import { helperFailure } from '../helper-failure.ts'
import { endsWithin, groupState, signalGroup } from '../process-group.ts'
import type { Cgroups } from '../cgroups.ts'
import { vmGroup } from '../cell.ts'
import type { MachineSpec, NestedNodeSpec, VmSpec } from '../workload.ts'
import { guestFiles, VM_CACHE, type GuestFiles } from './guest-files.ts'
import { bootFiles, commandFiles, runFiles } from './initramfs.ts'
import { encodeBoot, encodeJob, encodeNetwork, GUEST_IMAGE_ROOT, parseGuestEnd, type GuestJob } from './job.ts'
import { optionValue, QEMU, qemuArgs, qemuVersion, qmp, VIRTIOFSD, VIRTIOFSD_SCRIPT, vmPorts, type GuestMachine } from './qemu.ts'
import { freshIdentity, savedMachine, TEMPLATE_MAC, type VmTemplates } from './templates.ts'

const run = promisify(execFile)

/** What a guest needs for itself, beyond its workload's memory: the kernel, aurae-init and the page cache. */
export const GUEST_OVERHEAD_MB = 128
/** A guest's memory when its workload has no limit. */
export const DEFAULT_GUEST_MB = 512
/** A nested node's memory without --memory: Node and its heap, the guest's workloads beside. */
const NESTED_DEFAULT_MB = 1024
/** The longest path a Unix socket may have (sun_path less its NUL). */
const SOCKET_PATH_MAX = 107
/** How often a stop presses the power button again: a press while the guest still boots goes unheard. */
const PRESS_EVERY_MS = 1000

/** The files of a VM's run, in its directory. */
const FILES = { initrd: 'initrd', console: 'console.log', consolePipe: 'console', qemuLog: 'qemu.log', status: 'status', control: 'control', qmp: 'qmp.sock', exec: 'exec.sock', job: 'job', jobPort: 'jobport', savedFrom: 'saved-from' }
/** How much of a VM's console its directory keeps: the guest writes it, and must not fill the host's disk. */
const CONSOLE_KEPT = 1 << 20
/** The host's end of a VM's exec port (monitor/aurae-vm-exec.c). */
const VM_EXEC = fileURLToPath(new URL('../monitor/aurae-vm-exec', import.meta.url))
/** A terminal's size when the caller's is not known, as a terminal's without a size. */
const DEFAULT_TERMINAL = { rows: 24, cols: 80 }

/**
 * The shell the monitor runs for a VM: `sh -c SCRIPT sh DIR VIRTIOFSD job|machine READY N [TAG SOURCE ro|rw CACHE]... --
 * QEMU ARGS...`. It starts a virtiofsd per share and waits for their sockets, runs qemu, and exits as the guest's
 * workload did (128+N for a signal), or 0 when a machine powered off; 125 when the VM itself failed (qemu.log says
 * why, or the guest on its status port).
 */
const WRAPPER = `dir=$1 fsd=$2 mode=$3 ready=$4 n=$5; shift 5
tags=
while [ "$n" -gt 0 ]; do
  rm -f "$dir/$1.sock"; mkdir -p "$dir/share-$1"
  unshare --mount --propagation private sh -c '${VIRTIOFSD_SCRIPT}' sh "$2" "$dir/share-$1" "$3" "$fsd" "$dir/$1.sock" "$4" </dev/null >/dev/null 2>>"$dir/${FILES.qemuLog}" &
  tags="$tags $1"; shift 4; n=$((n-1))
done
shift
for t in $tags; do
  i=0
  while [ ! -S "$dir/$t.sock" ]; do
    i=$((i+1)); if [ $i -gt 3000 ]; then echo "aurae: virtiofsd did not start for the share $t" >>"$dir/${FILES.qemuLog}"; exit 125; fi
    sleep 0.01
  done
done
# The console's first ${CONSOLE_KEPT} bytes are kept, written as they come (for logs --console -f); the rest is read
# and dropped.
{ stdbuf -o0 head -c ${CONSOLE_KEPT}; cat >/dev/null; } <"$dir/${FILES.consolePipe}.out" >"$dir/${FILES.console}" 2>/dev/null &
reader=$!
# A warm VM's job goes in on its job port once qemu has restored it, after its length, with the host's clock added.
feeder=
if [ -p "$dir/${FILES.jobPort}" ]; then
  now=$(date +%s.%N)
  { printf '%d\\n' $(( $(stat -c %s "$dir/${FILES.job}") + \${#now} + 7 )); cat "$dir/${FILES.job}"; printf 'clock\\000%s\\000' "$now"; } >"$dir/${FILES.job}.framed"
  cat "$dir/${FILES.job}.framed" >"$dir/${FILES.jobPort}" &
  feeder=$!
fi
# The monitor's pipes stay open for qemu's ports on 3 and 4; what qemu itself says goes to its log.
"$@" 3>&1 4>&2 </dev/null >>"$dir/${FILES.qemuLog}" 2>&1 &
qemu=$!
# A job's guest says on its status port when it has started the workload: one that does not within $ready seconds
# (its kernel or its init stuck) is ended, and says so.
watchdog=
if [ "$mode" = job ]; then
  { i=0
    while kill -0 $qemu 2>/dev/null; do
      grep -qE '^(started$|exit |signal )' "$dir/${FILES.status}" 2>/dev/null && exit 0
      i=$((i+1)); if [ $i -gt $((ready * 10)) ]; then echo "aurae: the guest did not start its workload within $ready s" >>"$dir/${FILES.qemuLog}"; kill -9 $qemu; exit 0; fi
      sleep 0.1
    done; } </dev/null >/dev/null 2>&1 &
  watchdog=$!
fi
wait $qemu
code=$?
if [ -n "$watchdog" ]; then kill $watchdog 2>/dev/null; fi
if [ -n "$feeder" ]; then kill $feeder 2>/dev/null; fi
# A moment's writer of the console's FIFO ends the reader's wait for one, if qemu never opened it; then its end.
exec 6<>"$dir/${FILES.consolePipe}.out"; exec 6>&-
wait $reader
if [ $code -ne 0 ]; then grep -q 'did not start its workload' "$dir/${FILES.qemuLog}" || echo "aurae: qemu exited with $code" >>"$dir/${FILES.qemuLog}"; exit 125; fi
set -- $(grep -E '^(exit|signal) [0-9]+ [0-9]+$' "$dir/${FILES.status}" 2>/dev/null)
case $1 in exit) exit "$2";; signal) exit $((128 + $2));; esac
# A kernel that panicked (its root not found) ends the machine as a power-off would: the console says which it was.
panic=$(grep -m1 -a 'Kernel panic' "$dir/${FILES.console}" 2>/dev/null | tr -d '\\r')
if [ -n "$panic" ]; then echo "aurae: the guest's kernel panicked: \${panic#*not syncing: }" >>"$dir/${FILES.qemuLog}"; exit 125; fi
# A machine's own init says nothing on the status port: powered off is done.
if [ "$mode" = machine ]; then exit 0; fi
echo "aurae: the guest ended without saying how its workload ended" >>"$dir/${FILES.qemuLog}"
exit 125`

export interface VmDriverInit {
  cgroups: Cgroups
  network: BridgeNetwork
  nodeKey: string
  images: Images
  content: ContentStore
  dataDir: string
  /** Where the machine keeps what its VMs boot (guest-files.ts). */
  cache?: string
  /** How long a VM of an image has to start its workload before it is ended (auraed --vm-ready-timeout). */
  readySeconds?: number
  /** Saved VMs that VMs of images start from (templates.ts); none: every VM boots. */
  templates?: VmTemplates
}

/** The guest's memory: the workload's on top of what the guest needs itself. */
export function guestMemoryMb (memoryBytes: number): number {
  return memoryBytes > 0 ? GUEST_OVERHEAD_MB + Math.ceil(memoryBytes / 2 ** 20) : DEFAULT_GUEST_MB
}

/** A VM's memory: a machine's own; a nested node's, 1024 MB without --memory; else the workload's and the guest's own. */
export function vmMemoryMb (spec: VmSpec): number {
  if (spec.machine !== undefined) return spec.machine.memoryMb
  if (spec.node !== undefined && spec.limits.memoryBytes === 0) return NESTED_DEFAULT_MB
  return guestMemoryMb(spec.limits.memoryBytes)
}

/** The guest's vCPUs: --cpus rounded up, one by default. */
export function guestCpus (cpus: number): number {
  return cpus > 0 ? Math.ceil(cpus) : 1
}

/**
 * The tap a VM's qemu opens in the VM's network namespace, and its traffic and eth0's (the bridge's veth) each
 * passed to the other, as Kata's tc filter does: the guest is the namespace's address.
 */
const TAP = 'ip tuntap add tap0 mode tap && ip link set tap0 up && for pair in "eth0 tap0" "tap0 eth0"; do set -- $pair; tc qdisc add dev $1 ingress && tc filter add dev $1 parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev $2 || exit 1; done'

/** eth0 of a network namespace the node's bridge network made: its address, prefix and MAC, and the gateway. */
async function linkOf (netns: string): Promise<{ address: string, prefix: number, mac: string, gateway: string }> {
  const ip = async (...args: string[]): Promise<any[]> => JSON.parse((await run('nsenter', [`--net=${netns}`, 'ip', '-j', ...args])).stdout) as any[]
  const [link] = await ip('addr', 'show', 'dev', 'eth0')
  const inet = (link?.addr_info ?? []).find((a: { family: string }) => a.family === 'inet')
  const [route] = await ip('route', 'show', 'default')
  if (inet === undefined || route?.gateway === undefined) throw new FailedPreconditionError(`the VM's network namespace ${netns} has no address or route on eth0`)
  return { address: inet.local, prefix: inet.prefixlen, mac: link.address, gateway: route.gateway }
}

/** A file's lines that start with `prefix`, without it. */
function linesOf (text: string, prefix = ''): string[] {
  return text.split('\n').filter(l => l.trim() !== '' && l.startsWith(prefix)).map(l => l.slice(prefix.length).trim())
}

/** eth0 of a VM on the bridge: what linkOf found. */
type Link = Awaited<ReturnType<typeof linkOf>>

/** What every boot starts from: the node's kernel, the VM's link on the bridge, and the run's initramfs. */
interface BootBase {
  guest: GuestFiles
  kernel: string
  link: Link | undefined
  /** Writes the run's initramfs, the shared one with `extra` after it (an archive the kernel unpacks over it); its path. */
  initrdWith: (extra: Buffer) => Promise<string>
}

/**
 * What one run boots: qemu's machine less what every VM has, the host's shares, and what stops the guest; for a warm
 * start, the job its guest is given once restored.
 */
interface Boot {
  machine: Pick<GuestMachine, 'kernel' | 'initrd' | 'kernelArgs' | 'drives' | 'incoming'>
  shares: Array<{ tag: string, source: string, path: string, readOnly: boolean, cache: string }>
  stopSignal: string
  warmJob?: Buffer
  /** The saved VM a warm start restores (its template's directory). */
  savedFrom?: string
}

/**
 * A machine of its own disks: the node's kernel with an initramfs whose aurae-init mounts the root drive and the
 * drives and hands PID 1 to the drive's init; or the caller's kernel, which boots the root drive itself (root=/dev/vda,
 * and its address by the kernel's ip=, unless the caller's arguments say otherwise).
 */
async function machineBoot (name: string, m: MachineSpec, { kernel, link, initrdWith }: BootBase): Promise<Boot> {
  const drives = [m.rootDrive, ...m.drives]
  const letter = (i: number): string => `/dev/vd${String.fromCharCode(97 + i)}`
  let kernelArgs = m.kernelArgs
  let initrd: string | undefined
  if (m.kernel === '') {
    initrd = await initrdWith(bootFiles(encodeBoot({
      device: letter(0),
      readOnly: m.rootDrive.readOnly,
      fsType: '',
      drives: m.drives.map((d, i) => ({ device: letter(i + 1), path: d.vmPath, fsType: d.fsType, readOnly: d.readOnly })),
      hostname: name,
      init: '/sbin/init',
      ...(link !== undefined ? { network: { address: link.address, prefix: link.prefix, gateway: link.gateway } } : {})
    })))
  } else {
    const has = (key: string): boolean => kernelArgs.some(a => a.startsWith(`${key}=`))
    kernelArgs = [...has('root') ? [] : [`root=${letter(0)}`, m.rootDrive.readOnly ? 'ro' : 'rw'],
      ...has('ip') || link === undefined ? [] : [`ip=${link.address}::${link.gateway}:${prefixMask(link.prefix)}:${name}:eth0:off`], ...kernelArgs]
  }
  return {
    machine: { kernel: m.kernel !== '' ? m.kernel : kernel, ...(initrd !== undefined ? { initrd } : {}), kernelArgs, drives: drives.map(d => ({ path: d.path, readOnly: d.readOnly })) },
    shares: [],
    stopSignal: 'SIGTERM'
  }
}

/** The project's checkout: a nested node runs its auraed from it (and its Node), shared read-only with /usr. */
const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url))
/** Where a nested node's auraed listens for its host: its address on the node's bridge, this port. */
export const NESTED_PORT = 4710

/**
 * A nested node: aurae-init runs this project's auraed from the checkout (the host's /usr and the checkout shared
 * read-only, its data in the guest's memory), up under the name its host gave it, trusting its host, listening on
 * its address on the node's bridge.
 */
async function nodeBoot (name: string, node: NestedNodeSpec, { kernel, link, initrdWith }: BootBase): Promise<Boot> {
  if (link === undefined) throw new FailedPreconditionError(`the nested node ${name} needs the bridge network: its host reaches its auraed there`)
  const shares = [{ tag: 'usr', source: '/usr', path: '/usr', readOnly: true, cache: 'always' }, { tag: 'aurae', source: CHECKOUT, path: '/aurae', readOnly: true, cache: 'always' }]
  // Its daemon space on a tmpfs, where its workloads' mount namespaces can hide it (not on the initramfs's rootfs,
  // where a mount cannot be moved over a path): the key is moved there from the initramfs before auraed starts.
  const command = ['/bin/sh', '-c', 'mkdir -m 700 /run/aurae && mv /etc/aurae/key /run/aurae/id_aura && exec "$0" "$@"',
    '/aurae/node_modules/node/bin/node', '/aurae/bin/auraed.js', '--pid1', '--sock', '/run/aurae/aurae.sock', '--data', '/run/aurae/data',
    '--key', '/run/aurae/id_aura', '--listen', `/ip4/${link.address}/tcp/${NESTED_PORT}`, '--up', node.up, '--trust', node.trust]
  const files = [{ path: 'etc/aurae/key', data: await readFile(node.key) }, { path: 'etc/ld.so.cache', data: await readFile('/etc/ld.so.cache') }]
  const initrd = await initrdWith(commandFiles(shares, command, encodeNetwork(name, link), files))
  return { machine: { kernel, initrd }, shares, stopSignal: 'SIGTERM' }
}

/** A prefix length as a dotted netmask (24 → 255.255.255.0). */
function prefixMask (prefix: number): string {
  const bits = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0
  return [24, 16, 8, 0].map(shift => (bits >>> shift) & 255).join('.')
}

export function vmDriver (init: VmDriverInit): WorkloadDriver<VmSpec> {
  const cache = init.cache ?? VM_CACHE
  const dirOf = (task: Task<VmSpec>): string => containerDir(init.dataDir, task.name)
  const fileOf = (task: Task<VmSpec>, f: keyof typeof FILES): string => join(dirOf(task), FILES[f])
  const cgroupOf = (task: Task<VmSpec>): string => init.cgroups.version === 'none' ? '' : vmGroup(task.name)
  const idOf = (task: Task<VmSpec>): string => `aurae-${init.nodeKey}-${task.name}`
  // An image's VM: aurae-init runs its command in its root (shared read-only, a tmpfs over it), its volumes beside.
  const jobBoot = async (task: Task<VmSpec>, { guest, kernel, link, initrdWith }: BootBase, signal?: AbortSignal): Promise<Boot> => {
    const spec = task.spec
    const c = spec.container
    const image = await heldImage(init.images, init.content, init.dataDir, task.name, c.image, signal)
    const lower = await imageRoot(image, init.content, rootsDir(init.dataDir))
    const config = (JSON.parse((await init.content.read(image.config)).toString()) as { config?: ImageConfig }).config ?? {}
    const etc = async (f: string): Promise<string> => await readFile(join(lower, 'etc', f), 'utf8').catch(() => '')
    const ids = resolveUser(c.user !== '' ? c.user : config.User ?? '', await etc('passwd'), await etc('group'))
    // The image's root is the guest's to read (and cache); volumes are both sides' (never cached).
    const shares = [{ tag: 'root', source: lower, path: GUEST_IMAGE_ROOT, readOnly: true, cache: 'always' },
      ...c.volumes.map((v, i) => ({ tag: `vol${String(i).padStart(2, '0')}`, source: v.host, path: `/run/aurae/vol${i}`, readOnly: v.readOnly, cache: 'none' }))]
    const stopSignal = c.stopSignal ?? signalName(config.StopSignal ?? '') ?? 'SIGTERM'
    const names = await etcTexts(spec.name, c.network)
    const job = (identity?: GuestJob['identity']): Buffer => encodeJob({
      root: GUEST_IMAGE_ROOT,
      argv: processArgs(config, { command: spec.command, entrypoint: c.entrypoint }),
      env: processEnv(config, { name: spec.name, env: spec.env }),
      workdir: processCwd(config, spec.workdir),
      uid: ids.uid,
      gid: ids.gid,
      groups: [],
      binds: c.volumes.map((v, i) => ({ source: shares[i + 1].path, target: v.container, readOnly: v.readOnly })),
      memoryBytes: spec.limits.memoryBytes,
      pids: spec.limits.pids,
      stopSignal: signalNumber(stopSignal) ?? 15,
      hostname: spec.name,
      ...(link !== undefined ? { network: { address: link.address, prefix: link.prefix, gateway: link.gateway } } : {}),
      files: Object.entries(names).map(([file, text]) => ({ path: `/etc/${file}`, text })),
      ...identity !== undefined ? { identity } : {}
    })
    // Restored from a saved VM of the image when there is one (not with volumes: its shares would be virtiofs); else
    // booted, and one is saved for the next runs.
    const templates = init.templates
    if (templates !== undefined && c.volumes.length === 0) {
      const key = { image: image.config, root: lower, memoryMb: vmMemoryMb(spec), cpus: guestCpus(spec.limits.cpus) }
      const saved = await templates.find(key, guest)
      if (saved !== undefined) {
        const { initrd, drives } = savedMachine(saved, kernel, key, guest.accel.accel)
        return { machine: { kernel, initrd, drives, incoming: saved.state }, shares: [], stopSignal, warmJob: job(freshIdentity(link?.mac)), savedFrom: saved.dir }
      }
      templates.want(key, guest)
    }
    const initrd = await initrdWith(runFiles(shares, job()))
    return { machine: { kernel, initrd }, shares, stopSignal }
  }
  return {
    kind: 'vm',
    cgroupOf,
    async prepare (task, signal): Promise<LaunchPlan> {
      const spec = task.spec
      const c = spec.container
      if (spec.limits.cpus > 0 && init.cgroups.version === 'none') throw new FailedPreconditionError(`cannot enforce --cpus: ${init.cgroups.reason}`)
      await qemuVersion()
      const guest = await guestFiles(cache)
      const dir = dirOf(task)
      if (Buffer.byteLength(join(dir, 'vol00.sock')) > SOCKET_PATH_MAX) throw new FailedPreconditionError(`a VM needs a shorter data directory: ${dir} is too long for its sockets`)
      // What an earlier run left says nothing of this one.
      await mkdir(dir, { recursive: true, mode: 0o700 })
      for (const f of await readdir(dir)) {
        if (f !== IMAGE_NOTE) await rm(join(dir, f), { recursive: true, force: true })
      }
      // On the node's bridge, as a container is (its ports published the same way): qemu runs in the namespace the
      // bridge network made and gives the guest eth0's address.
      const netns = c.network === 'bridge' ? await init.network.attach(idOf(task), c.ports) : ''
      const link = netns !== '' ? await linkOf(netns) : undefined
      if (netns !== '') await run('nsenter', [`--net=${netns}`, 'sh', '-c', TAP])
      const base: BootBase = {
        guest,
        kernel: guest.kernel.vmlinuz,
        link,
        initrdWith: async extra => {
          await copyFile(guest.initrd, fileOf(task, 'initrd'))
          await appendFile(fileOf(task, 'initrd'), extra)
          return fileOf(task, 'initrd')
        }
      }
      const boot = spec.machine !== undefined
        ? await machineBoot(spec.name, spec.machine, base)
        : spec.node !== undefined ? await nodeBoot(spec.name, spec.node, base) : await jobBoot(task, base, signal)
      await run('mkfifo', ['-m', '600', ...['control', 'consolePipe'].flatMap(f => [`${fileOf(task, f as keyof typeof FILES)}.in`, `${fileOf(task, f as keyof typeof FILES)}.out`]),
        ...boot.warmJob !== undefined ? [fileOf(task, 'jobPort')] : []])
      if (boot.warmJob !== undefined) await writeFile(fileOf(task, 'job'), boot.warmJob, { mode: 0o600 })
      if (boot.savedFrom !== undefined) await writeFile(fileOf(task, 'savedFrom'), boot.savedFrom)
      // On the host, the VM's processes are held to --cpus (its CPU time is their emulation of the guest's); its memory
      // is the guest's, and --pids counts the guest's processes, inside.
      if (cgroupOf(task) !== '') init.cgroups.create(cgroupOf(task), { cpus: spec.limits.cpus, memoryBytes: 0, pids: 0 })
      const qemu = [...(netns !== '' ? ['nsenter', `--net=${netns}`, '--'] : []), QEMU, ...qemuArgs({
        ...boot.machine,
        memoryMb: vmMemoryMb(spec),
        cpus: guestCpus(spec.limits.cpus),
        accel: guest.accel.accel,
        shares: boot.shares.map(s => ({ tag: s.tag, socket: join(dir, `${s.tag}.sock`) })),
        console: { pipe: fileOf(task, 'consolePipe') },
        qmp: fileOf(task, 'qmp'),
        // A warm VM has its template's card, on the bridge or on no network.
        ...(link !== undefined ? { net: { tap: 'tap0', mac: link.mac } } : boot.warmJob !== undefined ? { net: { mac: TEMPLATE_MAC } } : {}),
        // The monitor's pipes, on qemu's descriptors 3 and 4: the workload writes into them.
        ports: vmPorts({
          stdout: 'file,path=/proc/self/fd/3',
          stderr: 'file,path=/proc/self/fd/4',
          status: `file,path=${optionValue(fileOf(task, 'status'))}`,
          control: `pipe,path=${optionValue(fileOf(task, 'control'))}`,
          exec: `socket,path=${optionValue(fileOf(task, 'exec'))},server=on,wait=off`,
          ...boot.warmJob !== undefined ? { job: `pipe,path=${optionValue(fileOf(task, 'jobPort'))}` } : {}
        })
      })]
      return {
        argv: ['sh', '-c', WRAPPER, 'sh', dir, VIRTIOFSD, spec.machine !== undefined || spec.node !== undefined ? 'machine' : 'job', String(init.readySeconds ?? VM_READY_SECONDS), String(boot.shares.length), ...boot.shares.flatMap(s => [s.tag, s.source, s.readOnly ? 'ro' : 'rw', s.cache]), '--', ...qemu],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
        workdir: dir,
        cgroup: cgroupOf(task),
        stopSignal: boot.stopSignal,
        ...(link !== undefined ? { address: link.address } : {}),
        boot: boot.warmJob !== undefined ? 'warm' : 'cold'
      }
    },
    // The power button, pressed until the guest ends or the timeout passes (a press during its boot is lost); then
    // qemu and its virtiofsds are killed.
    async stop (task, { timeoutMs, exited }) {
      if (timeoutMs > 0 && groupState(task).status === 'running') {
        const press = (): void => { qmp(fileOf(task, 'qmp'), 'system_powerdown').catch(() => {}) }
        press()
        const presses = setInterval(press, PRESS_EVERY_MS)
        const ended = await endsWithin(exited, timeoutMs)
        clearInterval(presses)
        if (ended) return
      }
      signalGroup(task, 'SIGKILL')
      if (cgroupOf(task) !== '') await init.cgroups.killAll(cgroupOf(task)).catch(() => {})
    },
    // SIGKILL ends the VM (its workload with it); any other signal goes in to the workload's process.
    signal (task, sig) {
      if (sig === 'SIGKILL') return signalGroup(task, sig)
      const n = signalNumber(sig)
      if (n === undefined || groupState(task).status !== 'running') return
      let fd: number | undefined
      try {
        // qemu holds the pipe open for reading while it runs; without it, there is no one to tell.
        fd = openSync(`${fileOf(task, 'control')}.in`, constants.O_WRONLY | constants.O_NONBLOCK)
        writeSync(fd, `${n}\n`)
      } catch {} finally {
        if (fd !== undefined) closeSync(fd)
      }
    },
    state: groupState,
    consoleOf: task => fileOf(task, 'console'),
    // A command inside the guest, run by aurae-init as it runs the workload (its root, cgroup, user and env), through
    // the VM's exec port. aurae-vm-exec speaks for it on the host: it passes on its stdin unless detached (the node's
    // /dev/null when no one gives any, an empty input), and with a terminal it gives the command one in the guest,
    // its own terminal's keys and size (the caller's, or aurae-pty's under the node).
    async enter (task, request): Promise<EnterPlan> {
      if (task.spec.node !== undefined) throw new FailedPreconditionError(`VM ${task.name} is a nested node: run commands on it as on a peer, as in aurae exec job@${task.name} -- CMD`)
      if (task.spec.machine !== undefined) throw new FailedPreconditionError(`VM ${task.name} runs its own init from its root drive: there is no way in to run a command (exec works in VMs of images)`)
      // A caller that runs the command itself reads the helper's failure on its stderr.
      const errors = request.byCaller === true ? '-' : join(dirOf(task), `exec-${randomUUID()}.err`)
      const size = request.size ?? DEFAULT_TERMINAL
      const input = request.detach === true ? ['--detach'] : ['--stdin', ...(request.tty === true ? ['--tty', String(size.rows), String(size.cols)] : [])]
      return {
        argv: [VM_EXEC, fileOf(task, 'exec'), errors, ...input, ...(request.workdir !== '' ? ['--workdir', request.workdir] : []),
          ...Object.entries(request.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]), '--', ...request.command],
        env: {},
        explain: async () => errors === '-' ? undefined : await helperFailure(errors, 'cannot run the command in the VM')
      }
    },
    // As a container's: death by signal N is 128 + N. The guest says how its workload ended and whether the OOM
    // killer struck in its cgroup; a VM that ended without saying so failed itself.
    async explain (task, end) {
      const guest = parseGuestEnd(await readFile(fileOf(task, 'status'), 'utf8').catch(() => ''))
      if (end.signal !== null) return { ...end, exitCode: 128 + (signalNumber(end.signal) ?? 0), signal: null, oomKilled: false }
      if (guest !== undefined) {
        return { ...end, exitCode: guest.exitCode ?? 128 + (guest.signal ?? 0), signal: null, oomKilled: guest.oomKills > 0, ...(guest.error !== undefined ? { error: guest.error } : {}) }
      }
      if (end.exitCode === 125) {
        // The shell's reason, with what qemu said last, or else the guest's console.
        const said = async (f: keyof typeof FILES): Promise<string> => await readFile(fileOf(task, f), 'utf8').catch(() => '')
        const log = await said('qemuLog')
        const reason = linesOf(log, 'aurae: ').at(-1) ?? 'the VM failed'
        // A reason that quotes the guest already (its kernel's panic) needs no more of its console.
        const detail = linesOf(log, `${QEMU}: `).filter(l => !l.startsWith('warning: ')).at(-1) ?? (reason.includes(': ') ? '' : linesOf(await said('console')).slice(-2).join('; '))
        // A VM restored from a saved one that failed before its workload started may have failed of it (a state
        // qemu cannot load): it is dropped, and the next run boots and saves another.
        const savedFrom = await said('savedFrom')
        const dropped = savedFrom !== '' && init.templates !== undefined && await init.templates.discard(savedFrom, detail !== '' ? detail : reason)
        const error = (detail !== '' ? `${reason}: ${detail}` : reason) + (dropped ? ' (it was restored from a saved VM, which is dropped: the next run boots)' : '')
        return { ...end, error, oomKilled: false }
      }
      return { ...end, oomKilled: false }
    },
    // The run's files go with the run; the image note stays until the VM is removed.
    async release (task, forget) {
      if (cgroupOf(task) !== '') await init.cgroups.remove(cgroupOf(task)).catch(() => {})
      if (task.spec.container.network === 'bridge') await init.network.detach(idOf(task), task.spec.container.ports)
      const dir = dirOf(task)
      if (forget === true) return await rm(dir, { recursive: true, force: true })
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        if (f !== IMAGE_NOTE && f !== FILES.console) await rm(join(dir, f), { recursive: true, force: true })
      }
    }
  }
}
