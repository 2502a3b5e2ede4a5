#!/usr/bin/env auraescript
// A cell with a CPU limit, one executable started in it and stopped, then the cell freed.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";

const client = await aurae.createClient();
const cellService = new cells.CellServiceClient(client);
const cellName = "ae-sleeper-cell";

const allocated = await cellService.allocate(<cells.CellServiceAllocateRequest>{
  cell: cells.Cell.fromPartial({
    name: cellName,
    cpu: cells.CpuController.fromPartial({ weight: 2, max: 400 * 10 ** 3 }), // 0.4 s of CPU a period
  }),
});
aurae.print("Allocated:", allocated);

const started = await cellService.start(<cells.CellServiceStartRequest>{
  cellName,
  executable: cells.Executable.fromPartial({ name: "sleep-42", command: "sleep 42", description: "sleeps 42 seconds" }),
});
aurae.print("Started:", started);

const stopped = await cellService.stop(<cells.CellServiceStopRequest>{ cellName, executableName: "sleep-42" });
aurae.print("Stopped:", stopped);

const freed = await cellService.free(<cells.CellServiceFreeRequest>{ cellName });
aurae.print("Freed:", freed);
