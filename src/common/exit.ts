// Ending a process of ours with an exit code. process.exit can hang for good: it stops V8's worker threads before it
// tears the heap down, and a worker compiling in the background that waits for the main thread to collect garbage
// waits forever, the main thread waiting for it in turn (nodejs/node#54918; seen as `aurae exec` that printed all
// of a peer's output, called process.exit, and never ended). A process that runs out of work tears the heap down
// first, which lets such a worker go; Node's documentation, too, advises setting process.exitCode over process.exit.
import { collectAll } from './young-gc.ts'

/** How long a process may still be held open by something of its own before it is ended anyway. */
export const EXIT_GRACE_MS = 2000

/**
 * Ends the process with `code` once nothing is left to do; should something still hold it open after `graceMs`
 * (a handle no one closed), ends it then, as quitNow does.
 */
export function endWith (code: number, graceMs = EXIT_GRACE_MS): void {
  process.exitCode = code
  setTimeout(() => quitNow(code), graceMs).unref()
}

/**
 * Ends the process with `code` at once, without waiting for what is still open (a second Ctrl-C, a reader gone).
 * A full collection first answers any worker already waiting for one; one that starts to wait in the moment
 * between the two remains possible, and is what endWith avoids.
 */
export function quitNow (code: number): never {
  collectAll()
  process.exit(code)
}
