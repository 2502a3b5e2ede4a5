#!/usr/bin/env auraescript
// gRPC health checks: the node as a whole, one of its services, and a service it does not serve (NOT_FOUND).
import * as aurae from "../auraescript/gen/aurae.ts";
import * as grpc_health from "../auraescript/gen/grpc_health.ts";

const health = new grpc_health.HealthClient(await aurae.createClient());

// A status is a number on the wire; the generated enum names it.
const statusOf = async (service: string): Promise<string> =>
  grpc_health.HealthCheckResponse_ServingStatus[(await health.check(<grpc_health.HealthCheckRequest>{ service })).status];

aurae.print("Overall:", await statusOf(""));
aurae.print("aurae.cells.v0.CellService:", await statusOf("aurae.cells.v0.CellService"));
aurae.print("aurae.discovery.v0.DiscoveryService:", await statusOf("aurae.discovery.v0.DiscoveryService"));

aurae.print("aurae.cells.v0.UnknownService:");
try {
  await health.check(<grpc_health.HealthCheckRequest>{ service: "aurae.cells.v0.UnknownService" });
} catch (err) {
  aurae.print((err as { grpcStatus?: string }).grpcStatus, (err as Error).message);
}
