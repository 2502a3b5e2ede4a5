#!/usr/bin/env auraescript
// The node's virtual machines (aurae.vms.v0), each with its state and where its auraed answers.
import * as aurae from "../auraescript/gen/aurae.ts";
import * as vms from "../auraescript/gen/vms.ts";

const vmService = new vms.VmServiceClient(await aurae.createClient());

const listed = await vmService.list(<vms.VmServiceListRequest>{});
aurae.print(`${listed.machines.length} VMs`);
for (const machine of listed.machines) aurae.print(machine);
