// AuraeScript's `discovery` module: the original's aurae.discovery.v0 (DiscoveryServiceClient.discover).
import * as gen from '../gen/aurae/discovery/v0/discovery.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'

export * from '../gen/aurae/discovery/v0/discovery.ts'

export type DiscoveryServiceClient = ServiceClient<typeof gen.DiscoveryServiceService>
export const DiscoveryServiceClient = serviceClient(gen.DiscoveryServiceService, { discover: gen.DiscoverRequest }, defaultClient)
