#!/usr/bin/env auraescript
// Asks the node whether it is healthy, and its version.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as discovery from "../auraescript/gen/discovery.ts";

const client = await aurae.createClient();
const discoveryService = new discovery.DiscoveryServiceClient(client);

const discovered = await discoveryService.discover(<discovery.DiscoverRequest>{});
aurae.print(discovered);
