#!/usr/bin/env auraescript
// Two executables in one cell, one writing to stdout and one to stderr; both stopped, the cell freed.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";

const cellService = new cells.CellServiceClient(await aurae.createClient());
const cellName = "ae-echo-cell";

await cellService.allocate(<cells.CellServiceAllocateRequest>{
  cell: cells.Cell.fromPartial({ name: cellName, cpu: cells.CpuController.fromPartial({ weight: 2, max: 400 * 10 ** 3 }) }),
});

for (const [name, command] of [["echo-stdout", "echo 'hello from stdout'"], ["echo-stderr", "echo 'hello from stderr' 1>&2"]]) {
  const started = await cellService.start(<cells.CellServiceStartRequest>{
    cellName,
    executable: cells.Executable.fromPartial({ name, command, description: `writes a line (${name})` }),
  });
  aurae.print(`Started ${name}:`, started);
}

for (const executableName of ["echo-stdout", "echo-stderr"]) {
  await cellService.stop(<cells.CellServiceStopRequest>{ cellName, executableName });
}
await cellService.free(<cells.CellServiceFreeRequest>{ cellName });
aurae.print("Freed", cellName);
