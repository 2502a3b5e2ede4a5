#!/usr/bin/env auraescript
// A cell whose CPU quota is 30% of one CPU (max 300 ms of each 1 s period), an executable in it, then the cell freed.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";

const cellService = new cells.CellServiceClient(await aurae.createClient());
const cellName = "ae-quota-cell";

const allocated = await cellService.allocate(<cells.CellServiceAllocateRequest>{
  cell: cells.Cell.fromPartial({
    name: cellName,
    cpu: cells.CpuController.fromPartial({ weight: 2, max: 300_000, period: 1_000_000 }),
  }),
});
aurae.print("Allocated:", allocated);

const started = await cellService.start(<cells.CellServiceStartRequest>{
  cellName,
  executable: cells.Executable.fromPartial({ name: "sleep-42", command: "sleep 42", description: "sleeps 42 seconds" }),
});
aurae.print("Started:", started);

await cellService.stop(<cells.CellServiceStopRequest>{ cellName, executableName: "sleep-42" });
await cellService.free(<cells.CellServiceFreeRequest>{ cellName });
aurae.print("Freed", cellName);
