// The one start/stop contract of the node's long-lived parts (the store, the content store, the network, cells, the
// supervisor, the mesh): started once in order, stopped once in the reverse order, as libp2p's Startable.

export interface Component {
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** A component with the name its failures are reported under. */
export type Part = readonly [name: string, component: Component]

/** Starts the parts in order; when one fails, stops those already started (in reverse) and throws its failure. */
export async function startAll (parts: readonly Part[], onStopError: (name: string, err: unknown) => void): Promise<void> {
  const started: Part[] = []
  try {
    for (const part of parts) {
      await part[1].start()
      started.push(part)
    }
  } catch (err) {
    await stopAll(started, onStopError)
    throw err
  }
}

/** Stops the parts in the reverse order of their start; a failure is reported and the rest are stopped still. */
export async function stopAll (parts: readonly Part[], onError: (name: string, err: unknown) => void): Promise<void> {
  for (const [name, component] of [...parts].reverse()) {
    try {
      await component.stop()
    } catch (err) {
      onError(name, err)
    }
  }
}
