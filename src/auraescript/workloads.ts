// AuraeScript's `workloads` module: the node's own aurae.workloads.v0.WorkloadService (run, exec, ps, logs …).
import * as gen from '../gen/aurae/workloads/v0/workloads.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'
import { WORKLOADS } from '../client/connect.ts'

export * from '../gen/aurae/workloads/v0/workloads.ts'

export type WorkloadServiceClient = ServiceClient<typeof gen.WorkloadServiceService>
export const WorkloadServiceClient = serviceClient(gen.WorkloadServiceService, WORKLOADS, defaultClient)
