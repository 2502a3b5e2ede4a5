#!/usr/bin/env auraescript
// A cell with pid, mount, ipc and uts namespaces of its own: its executable sees a fresh /proc.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";

const cellService = new cells.CellServiceClient(await aurae.createClient());
const cellName = "ae-proc-cell";

aurae.print(await cellService.allocate(<cells.CellServiceAllocateRequest>{
  cell: cells.Cell.fromPartial({
    name: cellName,
    cpu: cells.CpuController.fromPartial({ weight: 2 }),
    isolateNetwork: false,
    isolateProcess: true,
  }),
}));

aurae.print(await cellService.start(<cells.CellServiceStartRequest>{
  cellName,
  executable: cells.Executable.fromPartial({ name: "list-proc", command: "ls /proc", description: "lists the processes it sees" }),
}));

await cellService.free(<cells.CellServiceFreeRequest>{ cellName });
aurae.print("Freed", cellName);
