// AuraeScript's `mesh` module: the node's own aurae.mesh.v0.MeshService (tokens, peers, names).
import * as gen from '../gen/aurae/mesh/v0/mesh.ts'
import type { ServiceClient } from '../client/channel.ts'
import { defaultClient } from './aurae.ts'
import { serviceClient } from './client.ts'
import { MESH } from '../client/connect.ts'

export * from '../gen/aurae/mesh/v0/mesh.ts'

export type MeshServiceClient = ServiceClient<typeof gen.MeshServiceService>
export const MeshServiceClient = serviceClient(gen.MeshServiceService, MESH, defaultClient)
