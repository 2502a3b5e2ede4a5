// AuraeScript's `vms` module: the original's aurae.vms.v0 (VmServiceClient).
import * as gen from '../gen/aurae/vms/v0/vms.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'

export * from '../gen/aurae/vms/v0/vms.ts'

export type VmServiceClient = ServiceClient<typeof gen.VmServiceService>
export const VmServiceClient = serviceClient(gen.VmServiceService, {
  allocate: gen.VmServiceAllocateRequest,
  free: gen.VmServiceFreeRequest,
  start: gen.VmServiceStartRequest,
  stop: gen.VmServiceStopRequest,
  list: gen.VmServiceListRequest
}, defaultClient)
