// AuraeScript's `node` module: the node's own aurae.node.v0.NodeService (status, up, down).
import * as gen from '../gen/aurae/node/v0/node.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'
import { NODE } from '../client/connect.ts'

export * from '../gen/aurae/node/v0/node.ts'

export type NodeServiceClient = ServiceClient<typeof gen.NodeServiceService>
export const NodeServiceClient = serviceClient(gen.NodeServiceService, NODE, defaultClient)
