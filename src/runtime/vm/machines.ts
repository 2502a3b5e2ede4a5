// Machines of their own disks, as the original's VmService has them: allocated (checked and recorded), started,
// stopped and freed by id. A started machine is a workload of kind vm with a MachineSpec, under its id, so it is
// supervised, logged (its console), listed and re-adopted as every VM is; the allocation outlives its runs.
import { statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { isAbsolute } from 'node:path'
import { randomBytes } from 'node:crypto'
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../errors.ts'
import type { Component } from '../../lifecycle.ts'
import { assertWorkloadName } from '../../names/parse.ts'
import type { Table } from '../../store/store.ts'
import type { Supervisor } from '../supervisor.ts'
import type { MachineSpec, VmSpec, WorkloadRecord } from '../workload.ts'

/** What an allocation keeps: the machine as asked for, with its defaults filled in. */
export interface MachineRecord extends MachineSpec {
  id: string
  vcpus: number
  createdAt: number
}

/** What a caller asks for: the record's fields, any left empty (id, memory, vCPUs) made up or defaulted. */
export type MachineRequest = Omit<MachineRecord, 'createdAt'>

/** A machine's memory when the caller names none, and the least it boots the node's kernel with. */
export const DEFAULT_MACHINE_MB = 512
export const MIN_MACHINE_MB = 64
/** How long a stop waits for the guest to power off after its power button is pressed. */
const STOP_TIMEOUT_MS = 10_000
/** The guest's disks are /dev/vda to /dev/vdz. */
const MAX_DRIVES = 26

/** The states of a machine, as the original names them (cloud-hypervisor's). */
export type MachineStatus = 'Created' | 'Running' | 'Shutdown'

/** A path on the host that is a file or a block device, else why not. */
function assertImage (what: string, path: string): void {
  if (!isAbsolute(path)) throw new InvalidArgumentError(`${what} must be an absolute path on the node: "${path}"`)
  let st
  try {
    st = statSync(path)
  } catch {
    throw new InvalidArgumentError(`${what} ${path} does not exist`)
  }
  if (!st.isFile() && !st.isBlockDevice()) throw new InvalidArgumentError(`${what} ${path} is neither a file nor a block device`)
}

/** A path inside the guest: absolute, with no `..`. */
function assertGuestPath (what: string, path: string): void {
  if (!path.startsWith('/') || path.split('/').includes('..') || path === '/') throw new InvalidArgumentError(`${what} must be an absolute path inside the VM, not / and without "..": "${path}"`)
}

/** The request, checked and completed; throws INVALID_ARGUMENT in one line for what is wrong. */
export function checkMachine (req: MachineRequest): MachineRequest {
  const id = req.id !== '' ? assertWorkloadName(req.id) : `vm-${randomBytes(4).toString('hex')}`
  const memoryMb = req.memoryMb === 0 ? DEFAULT_MACHINE_MB : req.memoryMb
  if (memoryMb < MIN_MACHINE_MB) throw new InvalidArgumentError(`mem_size_mb ${memoryMb} is below the ${MIN_MACHINE_MB} MB a VM boots with`)
  const vcpus = req.vcpus === 0 ? 1 : req.vcpus
  if (vcpus > availableParallelism()) throw new InvalidArgumentError(`vcpu_count ${vcpus}: a VM has at most as many vCPUs as the machine has CPUs (${availableParallelism()})`)
  if (req.kernel !== '') assertImage('kernel_img_path', req.kernel)
  if (req.rootDrive.path === '') throw new InvalidArgumentError('a VM needs a root drive: root_drive.image_path is empty')
  assertImage('root_drive.image_path', req.rootDrive.path)
  if (req.drives.length >= MAX_DRIVES) throw new InvalidArgumentError(`a VM has at most ${MAX_DRIVES - 1} drive mounts beside its root drive`)
  for (const [i, d] of req.drives.entries()) {
    assertImage(`drive_mounts[${i}].image_path`, d.path)
    assertGuestPath(`drive_mounts[${i}].vm_path`, d.vmPath)
    if (!/^[a-z0-9]+$/.test(d.fsType)) throw new InvalidArgumentError(`drive_mounts[${i}].fs_type must name a filesystem (ext4, xfs …): "${d.fsType}"`)
  }
  for (const arg of req.kernelArgs) {
    if (/[\s\0]/.test(arg) || arg === '') throw new InvalidArgumentError(`a kernel argument may not be empty or hold white space: ${JSON.stringify(arg)}`)
  }
  return { ...req, id, memoryMb, vcpus }
}

/** The workload a machine runs as: a VM of its disks on the node's bridge, its vCPUs its CPU limit on the host. */
export function machineWorkload (m: MachineRecord): VmSpec {
  return {
    kind: 'vm',
    name: m.id,
    command: [],
    env: {},
    workdir: '',
    limits: { cpus: m.vcpus, memoryBytes: 0, pids: 0 },
    restart: 'no',
    cell: '',
    container: { image: '', user: '', network: 'bridge', volumes: [], ports: [], stopTimeout: STOP_TIMEOUT_MS / 1000 },
    machine: { memoryMb: m.memoryMb, kernel: m.kernel, kernelArgs: m.kernelArgs, rootDrive: m.rootDrive, drives: m.drives }
  }
}

export class Machines implements Component {
  private readonly machines = new Map<string, MachineRecord>()

  constructor (private readonly table: Table<MachineRecord>, private readonly supervisor: () => Supervisor) {}

  async start (): Promise<void> {
    for (const m of await this.table.values()) this.machines.set(m.id, m)
  }

  /** Machines outlive the daemon, as their workloads do: nothing to stop. */
  async stop (): Promise<void> {}

  async allocate (req: MachineRequest): Promise<MachineRecord> {
    const checked = checkMachine(req)
    if (this.machines.has(checked.id)) throw new AlreadyExistsError(`a VM with id ${checked.id} is allocated already`)
    if (this.supervisor().has(checked.id)) throw new AlreadyExistsError(`a workload named ${checked.id} exists already; a VM's id names its workload`)
    const m = { ...checked, createdAt: Date.now() }
    this.machines.set(m.id, m)
    await this.table.put(m.id, m)
    return m
  }

  get (id: string): MachineRecord {
    const m = this.machines.get(id)
    if (m === undefined) throw new NotFoundError(`no VM with id ${id}`)
    return m
  }

  /** Boots the machine; a machine that has run before boots again from its allocation. */
  async boot (id: string): Promise<WorkloadRecord> {
    const m = this.get(id)
    const workload = this.workloadOf(id)
    if (workload?.state === 'running' || workload?.state === 'restarting') throw new FailedPreconditionError(`VM ${id} is running already`)
    if (workload !== undefined) return await this.supervisor().startAgain(id)
    return await this.supervisor().run(machineWorkload(m))
  }

  /** The power button, then force once STOP_TIMEOUT_MS has passed. */
  async shutdown (id: string): Promise<void> {
    this.get(id)
    const workload = this.workloadOf(id)
    if (workload?.state !== 'running' && workload?.state !== 'restarting') throw new FailedPreconditionError(`VM ${id} is not running`)
    await this.supervisor().stopWorkload(id, STOP_TIMEOUT_MS)
  }

  /** Stops the machine if it runs and forgets it: its allocation, its workload and the workload's files. */
  async free (id: string): Promise<void> {
    this.get(id)
    if (this.workloadOf(id) !== undefined) await this.supervisor().remove(id, true)
    this.machines.delete(id)
    await this.table.del(id)
  }

  list (): Array<{ machine: MachineRecord, status: MachineStatus, workload?: WorkloadRecord }> {
    return [...this.machines.values()].sort((a, b) => a.createdAt - b.createdAt).map(machine => {
      const workload = this.workloadOf(machine.id)
      const status: MachineStatus = workload === undefined ? 'Created' : workload.state === 'exited' ? 'Shutdown' : 'Running'
      return { machine, status, ...(workload !== undefined ? { workload } : {}) }
    })
  }

  /** The machine's workload, when it has been started (and is a machine's: a name may be taken since). */
  private workloadOf (id: string): WorkloadRecord | undefined {
    if (!this.supervisor().has(id)) return undefined
    const rec = this.supervisor().get(id)
    return rec.spec.kind === 'vm' && rec.spec.machine !== undefined ? rec : undefined
  }
}
