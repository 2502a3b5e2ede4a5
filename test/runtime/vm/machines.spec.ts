import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkMachine, machineWorkload, type MachineRequest } from '../../../src/runtime/vm/machines.ts'

describe('a machine of the VM service, checked before it is recorded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aurae-machines-'))
  const root = join(dir, 'root.img')
  writeFileSync(root, '')
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const req = (over: Partial<MachineRequest> = {}): MachineRequest => ({ id: 'box', memoryMb: 0, vcpus: 0, kernel: '', kernelArgs: [], rootDrive: { path: root, readOnly: false }, drives: [], ...over })

  it('fills in an id, 512 MB and one vCPU where the caller left them out', () => {
    expect(checkMachine(req())).toMatchObject({ id: 'box', memoryMb: 512, vcpus: 1 })
    expect(checkMachine(req({ id: '' })).id).toMatch(/^vm-[0-9a-f]{8}$/)
  })

  it('refuses paths that are not the host\'s files, guest paths that climb out, and more than the machine has', () => {
    const refused = (over: Partial<MachineRequest>): string => { try { checkMachine(req(over)); return 'accepted' } catch (err) { return (err as Error).message } }
    expect(refused({ rootDrive: { path: 'root.img', readOnly: false } })).toBe('root_drive.image_path must be an absolute path on the node: "root.img"')
    expect(refused({ rootDrive: { path: dir, readOnly: false } })).toBe(`root_drive.image_path ${dir} is neither a file nor a block device`)
    expect(refused({ kernel: join(dir, 'vmlinuz') })).toBe(`kernel_img_path ${join(dir, 'vmlinuz')} does not exist`)
    expect(refused({ drives: [{ path: root, vmPath: '/mnt/../etc', fsType: 'ext4', readOnly: true }] })).toMatch(/^drive_mounts\[0\]\.vm_path must be an absolute path inside the VM/)
    expect(refused({ drives: [{ path: root, vmPath: '/data', fsType: 'ext4,rw', readOnly: true }] })).toMatch(/^drive_mounts\[0\]\.fs_type must name a filesystem/)
    expect(refused({ kernelArgs: ['console=ttyS0 init=/bin/sh'] })).toMatch(/^a kernel argument may not be empty or hold white space/)
    expect(refused({ vcpus: availableParallelism() + 1 })).toMatch(/^vcpu_count \d+: a VM has at most as many vCPUs as the machine has CPUs/)
    expect(refused({ memoryMb: 32 })).toBe('mem_size_mb 32 is below the 64 MB a VM boots with')
  })

  it('runs as a VM workload under its id: no image, its vCPUs its CPU limit, on the bridge, stopped within 10 s', () => {
    const spec = machineWorkload({ ...checkMachine(req({ memoryMb: 256, vcpus: 2 })), createdAt: 0 })
    expect(spec).toMatchObject({ kind: 'vm', name: 'box', command: [], limits: { cpus: 2, memoryBytes: 0, pids: 0 }, restart: 'no', container: { image: '', network: 'bridge', stopTimeout: 10 } })
    expect(spec.machine).toEqual({ memoryMb: 256, kernel: '', kernelArgs: [], rootDrive: { path: root, readOnly: false }, drives: [] })
  })
})
