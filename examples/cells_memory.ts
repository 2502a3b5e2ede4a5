#!/usr/bin/env auraescript
// A cell with memory limits (high 50 kB, max 100 kB), a short executable in it, then the cell freed.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";

const cellService = new cells.CellServiceClient(await aurae.createClient());
const cellName = "ae-memory-cell";

const allocated = await cellService.allocate(<cells.CellServiceAllocateRequest>{
  cell: cells.Cell.fromPartial({
    name: cellName,
    memory: cells.MemoryController.fromPartial({ high: 50_000, max: 100_000 }),
  }),
});
aurae.print(allocated);

const started = await cellService.start(<cells.CellServiceStartRequest>{
  cellName,
  executable: cells.Executable.fromPartial({ name: "sleep-1", command: "sleep 1", description: "sleeps a second" }),
});
aurae.print(started);

await new Promise(resolve => setTimeout(resolve, 1500));

aurae.print(await cellService.stop(<cells.CellServiceStopRequest>{ cellName, executableName: "sleep-1" }));
aurae.print(await cellService.free(<cells.CellServiceFreeRequest>{ cellName }));
