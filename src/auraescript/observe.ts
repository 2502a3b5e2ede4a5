// AuraeScript's `observe` module: the original's aurae.observe.v0 (log streams as async iterables).
import * as gen from '../gen/aurae/observe/v0/observe.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'

export * from '../gen/aurae/observe/v0/observe.ts'

export type ObserveServiceClient = ServiceClient<typeof gen.ObserveServiceService>
export const ObserveServiceClient = serviceClient(gen.ObserveServiceService, {
  getAuraeDaemonLogStream: gen.GetAuraeDaemonLogStreamRequest,
  getSubProcessStream: gen.GetSubProcessStreamRequest,
  getPosixSignalsStream: gen.GetPosixSignalsStreamRequest
}, defaultClient)
