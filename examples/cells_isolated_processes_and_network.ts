#!/usr/bin/env auraescript
// A cell isolated both ways, with three executables: its processes, its network, its hostname.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";

const cellService = new cells.CellServiceClient(await aurae.createClient());
const cellName = "ae-net-proc-cell";

aurae.print(await cellService.allocate(<cells.CellServiceAllocateRequest>{
  cell: cells.Cell.fromPartial({
    name: cellName,
    cpu: cells.CpuController.fromPartial({ weight: 2 }),
    isolateNetwork: true,
    isolateProcess: true,
  }),
}));

const executables = [
  { name: "list-proc", command: "ls /proc", description: "lists the processes it sees" },
  { name: "net-info", command: "cat /proc/net/dev", description: "lists the network devices" },
  { name: "show-hostname", command: "hostname", description: "says its hostname" },
];
for (const executable of executables) {
  aurae.print(await cellService.start(<cells.CellServiceStartRequest>{ cellName, executable: cells.Executable.fromPartial(executable) }));
}

await cellService.free(<cells.CellServiceFreeRequest>{ cellName });
aurae.print("Freed", cellName);
