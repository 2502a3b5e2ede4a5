// Streamed output passes through a few buffers per message, each dead once the message is sent (and
// a pull's network chunks once they are hashed and written). V8 collects such buffers only after
// about 64 MiB of them have piled up, and that pile is what the daemon's RSS shows while a follower
// reads at full speed; the full collections it ends in cost a pull of 100 MB about 100 ms. A
// young-generation collection every few MiB streamed (about a millisecond each) keeps the pile, and
// so the daemon's memory, small.
// node:v8 and node:vm are loaded only when a collection is first due: every CLI command imports
// this module, and loading them at its start cost each command 2–3 ms.

const EVERY_BYTES = 4 * 1024 * 1024

type Gc = (opts?: { type: 'minor' | 'major' }) => void
let gc: Gc | undefined

/** A counter of bytes streamed that collects the young generation every few MiB. The collector is
 * reached only once that much has streamed (reaching it takes about 3 ms, which a CLI that prints a
 * line would pay for nothing). */
export function youngCollector (): (bytes: number) => void {
  let since = 0
  return bytes => {
    since += bytes
    if (since < EVERY_BYTES) return
    since = 0
    gc ??= exposeGc()
    gc({ type: 'minor' })
  }
}

/** A full collection, now: what a background thread of V8's may be waiting for (common/exit.ts). */
export function collectAll (): void {
  gc ??= exposeGc()
  gc()
}

/** The way Node documents for reaching V8's collector without starting with --expose-gc. */
function exposeGc (): Gc {
  process.getBuiltinModule('node:v8').setFlagsFromString('--expose-gc')
  return process.getBuiltinModule('node:vm').runInNewContext('gc') as Gc
}
