// The original Aurae's VmService, driven by a client that proto-loader makes from the .proto at run time (not this
// project's generated code), with snake_case fields as the original's clients write them: machines of their own
// disks (ext4 images made here with mke2fs), allocated, booted into their own init, stopped by their power button,
// booted again with what they wrote kept, and freed; and what is wrong with a request, said in one line.
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as loader from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VM_CACHE } from '../../src/runtime/vm/guest-files.ts'
import { ROOT, startNode, until, workload, type TestNode } from '../helpers/node.ts'

const PROTO = join(ROOT, 'proto', 'aurae', 'vms', 'v0', 'vms.proto')
const APPLETS = ['sh', 'echo', 'cat', 'grep', 'head', 'hostname', 'wc', 'sync', 'poweroff', 'mount', 'ls']

/** The guest's own init: says who and where it is, counts its boots on its root drive, waits for the power button. */
const INIT = `#!/bin/sh
echo "init: pid $$ on $(hostname)"
echo "cmdline: $(cat /proc/cmdline)"
cat /data/hello.txt
echo boot >> /boots
echo "boots: $(wc -l < /boots)"
for e in /sys/class/input/event*; do grep -q 'Power Button' $e/device/name && button=/dev/input/\${e##*/}; done
echo "button: $button"
head -c 1 $button > /dev/null
echo "init: power button pressed"
sync
poweroff -f
`

/** An ext4 image of `files` (path → text, or a busybox applet's link when null). */
function ext4 (path: string, files: Record<string, string | null>, init = false): void {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-drive-'))
  try {
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(join(dir, file, '..'), { recursive: true })
      if (text === null) symlinkSync('busybox', join(dir, file))
      else writeFileSync(join(dir, file), text)
    }
    if (init) {
      copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'))
      chmodSync(join(dir, 'bin', 'busybox'), 0o755)
      chmodSync(join(dir, 'sbin', 'init'), 0o755)
      // Where the system's mounts are moved to, as on any root.
      for (const d of ['data', 'dev', 'proc', 'sys', 'run']) mkdirSync(join(dir, d))
    }
    const made = spawnSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', dir, path, '32M'], { encoding: 'utf8' })
    if (made.status !== 0) throw new Error(`mke2fs: ${made.stderr}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

type Call = (req: object) => Promise<any>

/** The original's client: VmService's methods as promises; a failure rejects with its gRPC code and details. */
function vmService (sock: string): { call: Record<'Allocate' | 'Free' | 'Start' | 'Stop' | 'List', Call>, close: () => void } {
  const def = loader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true })
  const VmService = (grpc.loadPackageDefinition(def) as any).aurae.vms.v0.VmService
  const client = new VmService(`unix:${sock}`, grpc.credentials.createInsecure())
  const call = (method: string): Call => async req => await new Promise((resolve, reject) => {
    client[method](req, (err: grpc.ServiceError | null, res: any) => err !== null ? reject(Object.assign(new Error(err.details), { code: err.code })) : resolve(res))
  })
  return { call: { Allocate: call('Allocate'), Free: call('Free'), Start: call('Start'), Stop: call('Stop'), List: call('List') }, close: () => client.close() }
}

describe('VMs answer the original\'s VmService', () => {
  let node: TestNode
  let dir: string
  let vms: ReturnType<typeof vmService>
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aurae-vms-'))
    ext4(join(dir, 'root.img'), { 'sbin/init': INIT, ...Object.fromEntries(APPLETS.map(a => [`bin/${a}`, null])) }, true)
    ext4(join(dir, 'data.img'), { 'hello.txt': 'hello from the data drive\n' })
    ext4(join(dir, 'noinit.img'), { 'etc/hostname': 'nothing to run\n' })
    node = await startNode('vm-service')
    vms = vmService(node.sock)
  })
  afterAll(async () => {
    vms?.close()
    await node?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** qemu processes of this node still running. */
  const leftovers = (): string[] => spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout.split('\n').filter(l => /qemu-system/.test(l) && l.includes(node.data))
  /** The machine's serial console, its terminal's line ends as plain ones. */
  const consoleOf = async (id: string): Promise<string> => (await node.cli(['logs', '--console', id])).stdout.replaceAll('\r\n', '\n')
  /** Waits for `line` on the machine's console; a timeout says what the console said instead. */
  const untilConsole = async (id: string, line: RegExp): Promise<void> => {
    await until(`${String(line)} on ${id}'s console`, async () => line.test(await consoleOf(id)), 60_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; it says:\n${(await consoleOf(id)).split('\n').slice(-15).join('\n')}`)
    })
  }
  const refused = async (req: object): Promise<{ code: number, message: string }> => await vms.call.Allocate(req).then(() => ({ code: 0, message: '' }), (err: { code: number, message: string }) => ({ code: err.code, message: err.message }))

  it('refuses in one line what no machine can be, and records nothing', async () => {
    const drive = { image_path: join(dir, 'root.img') }
    expect(await refused({})).toEqual({ code: grpc.status.INVALID_ARGUMENT, message: 'no machine given: VmServiceAllocateRequest.machine is empty' })
    expect(await refused({ machine: { id: 'x' } })).toEqual({ code: grpc.status.INVALID_ARGUMENT, message: 'a VM needs a root drive: root_drive.image_path is empty' })
    expect(await refused({ machine: { id: 'x', root_drive: { image_path: join(dir, 'none.img') } } })).toEqual({ code: grpc.status.INVALID_ARGUMENT, message: `root_drive.image_path ${join(dir, 'none.img')} does not exist` })
    expect(await refused({ machine: { id: 'x', mem_size_mb: 16, root_drive: drive } })).toEqual({ code: grpc.status.INVALID_ARGUMENT, message: 'mem_size_mb 16 is below the 64 MB a VM boots with' })
    expect(await refused({ machine: { id: 'x', root_drive: drive, drive_mounts: [{ image_path: join(dir, 'data.img'), vm_path: '/../etc', fs_type: 'ext4' }] } })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT })
    expect(await refused({ machine: { id: 'bad name!', root_drive: drive } })).toMatchObject({ code: grpc.status.INVALID_ARGUMENT })
    expect((await vms.call.List({})).machines).toEqual([])
    await expect(vms.call.Start({ vm_id: 'nothing' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, message: 'no VM with id nothing' })
  })

  it('boots a machine into its own init with its drives, stops it by its power button, boots it again and frees it', async () => {
    const machine = {
      id: 'box',
      mem_size_mb: 256,
      vcpu_count: 1,
      kernel_args: ['aurae.test=yes'],
      root_drive: { image_path: join(dir, 'root.img'), read_only: false },
      drive_mounts: [{ image_path: join(dir, 'data.img'), vm_path: '/data', fs_type: 'ext4', read_only: true }]
    }
    expect(await vms.call.Allocate({ machine })).toEqual({ vm_id: 'box' })
    expect(await refused({ machine })).toEqual({ code: grpc.status.ALREADY_EXISTS, message: 'a VM with id box is allocated already' })
    expect((await vms.call.List({})).machines).toEqual([{ id: 'box', status: 'Created', mem_size_mb: 256, vcpu_count: 1, kernel_img_path: '', root_dir_path: join(dir, 'root.img'), auraed_address: '' }])

    const started = await vms.call.Start({ vm_id: 'box' })
    expect(started.auraed_address).toMatch(/^\d+\.\d+\.\d+\.\d+:8080$/)
    await untilConsole('box', /button: \/dev\/input\/event\d+/)
    const booted = await consoleOf('box')
    expect(booted).toContain('init: pid 1 on box\n')
    expect(booted).toContain('hello from the data drive\n')
    expect(booted).toContain('boots: 1\n')
    expect(booted).toMatch(/cmdline: .* aurae\.test=yes\n/)
    expect((await vms.call.List({})).machines).toEqual([{ id: 'box', status: 'Running', mem_size_mb: 256, vcpu_count: 1, kernel_img_path: '', root_dir_path: join(dir, 'root.img'), auraed_address: started.auraed_address }])
    const listed = JSON.parse((await node.cli(['vm', 'ls', '--json'])).stdout)
    expect(listed).toMatchObject([{ name: 'box', vcpus: 1, memoryMb: 256 }])
    await expect(vms.call.Start({ vm_id: 'box' })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION, message: 'VM box is running already' })
    expect(await node.cli(['exec', 'box', '--', 'true'])).toMatchObject({ code: 125 })

    // The power button: the guest's own init powers off (no forced end, which would leave no such line).
    expect(await vms.call.Stop({ vm_id: 'box' })).toEqual({})
    expect(await consoleOf('box')).toContain('init: power button pressed\n')
    expect((await vms.call.List({})).machines[0]).toMatchObject({ id: 'box', status: 'Shutdown', auraed_address: '' })
    expect(await workload(node, 'box')).toMatchObject({ state: 'exited', exitCode: 0 })
    await expect(vms.call.Stop({ vm_id: 'box' })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION, message: 'VM box is not running' })
    expect(leftovers()).toEqual([])

    // Its root drive is its own: what it wrote there is there at its next boot.
    await vms.call.Start({ vm_id: 'box' })
    await untilConsole('box', /boots: 2\n/)
    expect(await vms.call.Free({ vm_id: 'box' })).toEqual({})
    expect((await vms.call.List({})).machines).toEqual([])
    expect(await workload(node, 'box')).toBeUndefined()
    expect(leftovers()).toEqual([])
    await expect(vms.call.Free({ vm_id: 'box' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })
  }, 180_000)

  it('boots a kernel of the caller\'s with no initramfs, and says in one line when it panics (125)', async () => {
    // The node's own kernel has its virtio drivers as modules: booted bare, it cannot find its root, and panics.
    const kernel = join(dir, 'vmlinuz')
    const kernels = join(VM_CACHE, 'kernel')
    copyFileSync(readdirSync(kernels).map(v => join(kernels, v, 'vmlinuz')).find(f => existsSync(f)) ?? '', kernel)
    expect(await vms.call.Allocate({ machine: { id: 'bare', mem_size_mb: 128, kernel_img_path: kernel, root_drive: { image_path: join(dir, 'root.img'), read_only: true } } })).toEqual({ vm_id: 'bare' })
    await vms.call.Start({ vm_id: 'bare' })
    const ended = await until('the machine to end', async () => { const w = await workload(node, 'bare'); return w?.state === 'exited' ? w : undefined }, 60_000)
    expect(ended).toMatchObject({ exitCode: 125, error: expect.stringMatching(/^the guest's kernel panicked: VFS: Unable to mount root fs[^\n]*$/) })
    expect((await vms.call.List({})).machines.find((m: { id: string }) => m.id === 'bare')).toMatchObject({ status: 'Shutdown', kernel_img_path: kernel })
    expect(leftovers()).toEqual([])
    await vms.call.Free({ vm_id: 'bare' })
  }, 120_000)

  it('ends a machine whose root drive has no init in one line (125), leaving nothing running', async () => {
    expect(await vms.call.Allocate({ machine: { id: 'empty', mem_size_mb: 128, root_drive: { image_path: join(dir, 'noinit.img'), read_only: true } } })).toEqual({ vm_id: 'empty' })
    await vms.call.Start({ vm_id: 'empty' })
    const ended = await until('the machine to end', async () => { const w = await workload(node, 'empty'); return w?.state === 'exited' ? w : undefined }, 60_000)
    expect(ended).toMatchObject({ exitCode: 125 })
    expect(ended.error).toMatch(/^[^\n]*\/sbin\/init[^\n]*$/)
    expect((await vms.call.List({})).machines.find((m: { id: string }) => m.id === 'empty')).toMatchObject({ status: 'Shutdown' })
    expect(leftovers()).toEqual([])
    await vms.call.Free({ vm_id: 'empty' })
  }, 120_000)
})
