#!/usr/bin/env auraescript
// A cell name the node refuses (an underscore): the script ends with the node's FAILED_PRECONDITION.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as cells from "../auraescript/gen/cells.ts";

const cellService = new cells.CellServiceClient(await aurae.createClient());

await cellService.allocate(<cells.CellServiceAllocateRequest>{
  cell: cells.Cell.fromPartial({ name: "ae-no_underscore" }),
});
