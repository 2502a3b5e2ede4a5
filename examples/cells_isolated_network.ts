#!/usr/bin/env auraescript
// A cell with a network namespace of its own: what its executable sees of the network is only its loopback.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";

const cellService = new cells.CellServiceClient(await aurae.createClient());
const cellName = "ae-net-cell";

aurae.print(await cellService.allocate(<cells.CellServiceAllocateRequest>{
  cell: cells.Cell.fromPartial({
    name: cellName,
    cpu: cells.CpuController.fromPartial({ weight: 2 }),
    isolateNetwork: true,
    isolateProcess: false,
  }),
}));

aurae.print(await cellService.start(<cells.CellServiceStartRequest>{
  cellName,
  executable: cells.Executable.fromPartial({ name: "net-info", command: "cat /proc/net/dev", description: "lists the network devices" }),
}));

await cellService.free(<cells.CellServiceFreeRequest>{ cellName });
aurae.print("Freed", cellName);
