// AuraeScript's modules, by the name a script imports them as (`…/auraescript/gen/<name>.ts`) and the file that is
// each. The first six are the original Aurae's; the rest are the node's own services, named so that none can be taken
// for one of the original's (its `cells` and `observe` carry other messages).
export const MODULES: Record<string, string> = {
  aurae: 'aurae',
  cells: 'cells',
  discovery: 'discovery',
  observe: 'observe',
  vms: 'vms',
  grpc_health: 'grpc-health',
  // The original's older scripts print through helpers.print.
  helpers: 'aurae',
  workloads: 'workloads',
  workload_cells: 'workload-cells',
  node: 'node',
  node_observe: 'node-observe',
  images: 'images',
  mesh: 'mesh'
}

/** The module an import specifier means: `…/auraescript/gen/<name>.ts`, `…/auraescript/aurae.ts` (any prefix, with or
 * without `.ts`), or `auraescript/<name>`; undefined for any other. An unknown name under `auraescript/gen/` is
 * returned as is, for the caller to refuse. */
export function sdkModuleOf (specifier: string): string | undefined {
  const m = /(?:^|\/)auraescript\/(gen\/)?([A-Za-z_][A-Za-z0-9_]*)(?:\.ts)?$/.exec(specifier)
  if (m === null) return undefined
  const [, gen, name] = m
  if (gen !== undefined) return name
  // Outside gen/, only the original's auraescript/aurae.ts, or a bare `auraescript/<name>`.
  if (name === 'aurae' || specifier.startsWith('auraescript/')) return name
  return undefined
}
