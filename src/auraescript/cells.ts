// AuraeScript's `cells` module: the original's aurae.cells.v0 (its messages, and CellServiceClient).
import * as gen from '../gen/aurae/cells/v0/cells.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'

export * from '../gen/aurae/cells/v0/cells.ts'

export type CellServiceClient = ServiceClient<typeof gen.CellServiceService>
export const CellServiceClient = serviceClient(gen.CellServiceService, {
  allocate: gen.CellServiceAllocateRequest,
  free: gen.CellServiceFreeRequest,
  start: gen.CellServiceStartRequest,
  stop: gen.CellServiceStopRequest,
  list: gen.CellServiceListRequest
}, defaultClient)
