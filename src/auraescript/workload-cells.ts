// AuraeScript's `workload_cells` module: the node's own aurae.workloads.v0.CellService (named apart from the original's `cells`).
import * as gen from '../gen/aurae/workloads/v0/cells.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'
import { CELLS } from '../client/connect.ts'

export * from '../gen/aurae/workloads/v0/cells.ts'

export type CellServiceClient = ServiceClient<typeof gen.CellServiceService>
export const CellServiceClient = serviceClient(gen.CellServiceService, CELLS, defaultClient)
