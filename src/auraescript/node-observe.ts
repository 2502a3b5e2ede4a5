// AuraeScript's `node_observe` module: the node's own aurae.node.v0.ObserveService (named apart from the original's `observe`).
import * as gen from '../gen/aurae/node/v0/observe.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'
import { OBSERVE } from '../client/connect.ts'

export * from '../gen/aurae/node/v0/observe.ts'

export type ObserveServiceClient = ServiceClient<typeof gen.ObserveServiceService>
export const ObserveServiceClient = serviceClient(gen.ObserveServiceService, OBSERVE, defaultClient)
