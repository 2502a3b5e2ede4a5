// AuraeScript's `grpc_health` module: gRPC's grpc.health.v1 (HealthClient: check, and watch as an async iterable).
import * as gen from '../gen/grpc/health/v1/health.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'

export * from '../gen/grpc/health/v1/health.ts'

export type HealthClient = ServiceClient<typeof gen.HealthService>
export const HealthClient = serviceClient(gen.HealthService, { check: gen.HealthCheckRequest, watch: gen.HealthCheckRequest }, defaultClient)
