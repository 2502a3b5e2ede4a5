// The daemon's configuration: its paths from its own environment, and where the mesh listens by default.
import { resolvePaths as resolveFrom, type NodePaths } from '../common/node-defaults.ts'

export { VERSION, type NodePaths } from '../common/node-defaults.ts'

/** The daemon's paths: those given, the rest from its environment (AURAE_SOCK, HOME...). */
export function resolvePaths (given: Partial<NodePaths>): NodePaths {
  return resolveFrom(given, process.env, process.getuid?.() ?? 0)
}

/** Where the mesh listens unless told otherwise. */
export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/4710'
