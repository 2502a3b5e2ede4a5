#!/usr/bin/env auraescript
// Beyond the original: the same work on this node and on each trusted peer named on the command line
// (`auraescript examples/cells_on_peers.ts emily`), through aurae.peer(): each node says who it is, runs `hostname`
// in a cell of its own, and frees it.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";
import * as discovery from "../auraescript/gen/discovery.ts";

const local = await aurae.createClient();
const nodes = [{ name: "this node", client: local }, ...process.argv.slice(2).map(name => ({ name, client: aurae.peer(name, local) }))];

await Promise.all(nodes.map(async ({ name, client }, i) => {
  const found = await new discovery.DiscoveryServiceClient(client).discover(<discovery.DiscoverRequest>{});
  const cellService = new cells.CellServiceClient(client);
  const cellName = `ae-peer-cell-${i}`;
  await cellService.allocate(<cells.CellServiceAllocateRequest>{ cell: cells.Cell.fromPartial({ name: cellName }) });
  try {
    const started = await cellService.start(<cells.CellServiceStartRequest>{
      cellName,
      executable: cells.Executable.fromPartial({ name: "hostname", command: "hostname", description: "says where it runs" }),
    });
    aurae.print(`${name}: auraed ${found.version}, healthy ${found.healthy}, hostname started as pid ${started.pid}`);
  } finally {
    await cellService.free(<cells.CellServiceFreeRequest>{ cellName });
  }
}));
