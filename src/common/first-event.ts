// Waiting for the first of several events without leaving listeners behind: a stream that waits for `drain`
// millions of times over a long call must not pile up a `close` or `abort` listener each time.

type Source = { once: (e: string, f: () => void) => unknown, off: (e: string, f: () => void) => unknown } | EventTarget

/** Resolves at the first of `events` (each `[source, name]`), and takes every listener back. */
export async function firstEvent (...events: Array<[Source, string]>): Promise<void> {
  await new Promise<void>(resolve => {
    const done = (): void => {
      for (const [source, name] of events) {
        if ('removeEventListener' in source) source.removeEventListener(name, done)
        else source.off(name, done)
      }
      resolve()
    }
    for (const [source, name] of events) {
      if ('addEventListener' in source) source.addEventListener(name, done, { once: true })
      else source.once(name, done)
    }
  })
}
