// aurae.vms.v0.VmService, the original's VM API over this node's machines (runtime/vm/machines.ts). Its paths are
// the host's (kernels, disk images): only callers on this machine may use it, never a peer.
import type { VmServiceService, VirtualMachine } from '../../gen/aurae/vms/v0/vms.ts'
import { InvalidArgumentError } from '../../errors.ts'
import type { Machines, MachineRecord } from '../../runtime/vm/machines.ts'
import type { WorkloadRecord } from '../../runtime/workload.ts'
import type { Handlers } from './serve.ts'

/** The port the original's nested auraed serves on: the guest's address with it is where its auraed would answer. */
const GUEST_AURAED_PORT = 8080

/** Where a running machine's auraed would answer: its address on the node's bridge; empty when it has none. */
function auraedAddress (workload: WorkloadRecord | undefined): string {
  const address = workload?.state === 'running' ? workload.address ?? '' : ''
  return address !== '' ? `${address}:${GUEST_AURAED_PORT}` : ''
}

/** The original's VirtualMachine as a machine request. */
function machineFromProto (vm: VirtualMachine | undefined): Omit<MachineRecord, 'createdAt'> {
  if (vm === undefined) throw new InvalidArgumentError('no machine given: VmServiceAllocateRequest.machine is empty')
  return {
    id: vm.id,
    memoryMb: vm.memSizeMb,
    vcpus: vm.vcpuCount,
    kernel: vm.kernelImgPath,
    kernelArgs: vm.kernelArgs,
    rootDrive: { path: vm.rootDrive?.imagePath ?? '', readOnly: vm.rootDrive?.readOnly ?? false },
    drives: vm.driveMounts.map(d => ({ path: d.imagePath, vmPath: d.vmPath, fsType: d.fsType, readOnly: d.readOnly }))
  }
}

export function vmHandlers (machines: () => Machines): Handlers<typeof VmServiceService> {
  return {
    allocate: {
      access: 'local',
      unary: async req => ({ vmId: (await machines().allocate(machineFromProto(req.machine))).id })
    },
    free: {
      access: 'local',
      unary: async req => {
        await machines().free(req.vmId)
        return {}
      }
    },
    start: {
      access: 'local',
      unary: async req => ({ auraedAddress: auraedAddress(await machines().boot(req.vmId)) })
    },
    stop: {
      access: 'local',
      unary: async req => {
        await machines().shutdown(req.vmId)
        return {}
      }
    },
    list: {
      access: 'local',
      unary: async () => ({
        machines: machines().list().map(({ machine: m, status, workload }) => ({
          id: m.id,
          status,
          memSizeMb: m.memoryMb,
          vcpuCount: m.vcpus,
          kernelImgPath: m.kernel,
          rootDirPath: m.rootDrive.path,
          auraedAddress: auraedAddress(workload)
        }))
      })
    }
  }
}
