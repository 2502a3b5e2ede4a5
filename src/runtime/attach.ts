// Attached output straight from each run's monitor. For a run with an attached caller, the monitor
// listens on a socket in the daemon's run directory and starts the workload only once its reader has
// connected, so nothing is missed; it then sends the output as frames (see attach-frames.ts). The
// reader is the local CLI itself when it asked to read it directly; for any other caller it is the
// daemon, which reads a connection only while its messages are being taken, so a slow caller leaves
// the monitor's pipes full and the workload waits, as on a pipe. The daemon's reads land in one reused
// buffer and are copied once, into the messages that go out (the daemon dials, because only a
// connecting socket can read into a buffer of its own).
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { ADDRESS_MAX, RunSocket, type Input, type OutputStream } from '../common/attach-frames.ts'

/** A piece of output, as the caller gets it. */
export interface OutputChunk {
  stream: OutputStream
  data: Buffer
}

/** A message being gathered: room for MESSAGE_MAX bytes in `buf`; finish() gives the data of the first `size`. */
export interface MessageBuffer {
  buf: Buffer
  finish: (size: number) => Buffer
}

/** Makes the buffer a message is gathered in (the encoder may lay it out inside the message's wire bytes). */
export type Allocate = (stream: OutputChunk['stream']) => MessageBuffer

/** Where run `run`'s monitor listens: the `path` it binds, and the `address` the daemon connects to. */
export interface AttachPoint {
  path: string
  address: string
  run: number
}

/** Takes the runs of a workload, in the order they start. */
export interface Attacher {
  /** A run's monitor listens at `point` (one of `points`) until its reader connects, or until `launched` settles without it. */
  attach: (point: AttachPoint, launched: Promise<unknown>, points: AttachPoints) => void
}

/** The largest message; well under the mesh's 4 MB frames. */
export const MESSAGE_MAX = 512 * 1024
/** How much a run's connection is read ahead of what the caller has taken. */
const READ_AHEAD = 1024 * 1024
const DIAL_AGAIN_MS = 5
/** Every read of every connection lands here and is copied out at once. */
const scratch = Buffer.allocUnsafe(READ_AHEAD)

/** A fresh name for a monitor's socket; every one is as long. */
function pointName (): string {
  return `${randomBytes(8).toString('hex')}.attach`
}

/** The sockets monitors listen on for their readers: fresh names in the run directory. */
export class AttachPoints {
  /** How many times something has appeared in the run directory. */
  pokes = 0
  private dirFd?: number
  private readonly waiting = new Set<() => void>()

  constructor (readonly dir: string) {}

  /** Clears what monitors of an earlier daemon left; a directory whose sockets' paths are too long for an address is reached through a descriptor. */
  open (): void {
    for (const f of readdirSync(this.dir)) if (/\.attach(\.tmp)?$/.test(f)) rmSync(join(this.dir, f), { force: true })
    if (Buffer.byteLength(join(this.dir, pointName())) > ADDRESS_MAX) this.dirFd = openSync(this.dir, 'r')
  }

  close (): void {
    if (this.dirFd !== undefined) closeSync(this.dirFd)
    this.dirFd = undefined
  }

  /** A new place for a monitor to listen: the path it binds, and the address the daemon connects to. */
  next (): Omit<AttachPoint, 'run'> {
    const file = pointName()
    return { path: join(this.dir, file), address: this.dirFd === undefined ? join(this.dir, file) : `/proc/self/fd/${this.dirFd}/${file}` }
  }

  /** Something appeared in the run directory: dialers try again at once. */
  poke (): void {
    this.pokes++
    for (const wake of this.waiting) wake()
  }

  /** Tries `check` again at every poke until it holds (true), or until `launched` has settled without it (false). */
  async until (check: () => boolean | Promise<boolean>, launched: Promise<unknown>): Promise<boolean> {
    let settled = false
    void launched.finally(() => { settled = true; this.poke() })
    for (;;) {
      const seen = this.pokes
      if (await check()) return true
      // The monitor starts its workload only once its reader is there: once it has, none will come.
      if (settled) return false
      await this.later(seen)
    }
  }

  /** Resolves at the first poke after the `seen`th (at once if it came already), or after a short while. */
  async later (seen: number): Promise<void> {
    if (this.pokes !== seen) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(done, DIAL_AGAIN_MS)
      function done (): void { clearTimeout(timer); waiting.delete(done); resolve() }
      const waiting = this.waiting
      waiting.add(done)
    })
  }
}

/** One caller's view of a workload's output: every run's connection, in run order, as chunks of messages. */
export class AttachedOutput implements Attacher {
  private readonly runs: RunReader[] = []
  private finished = false
  private closed = false
  private wake?: () => void
  private runWaiters: Array<() => void> = []

  constructor (private readonly allocate: Allocate = plainBuffer) {}

  attach (point: AttachPoint, launched: Promise<unknown>, points: AttachPoints): void {
    const run = new RunReader(this.allocate, () => this.poke())
    this.runs.push(run)
    run.connected = run.dial(point.address, points, launched, () => this.closed)
    this.wakeSenders()
  }

  /** The caller's input (run -i/-t), to the run being read; it waits for the first run's monitor to answer. */
  async send (input: Input): Promise<void> {
    while (this.runs.length === 0 && !this.closed && !this.finished) await new Promise<void>(resolve => this.runWaiters.push(resolve))
    await this.runs[0]?.send(input)
  }

  /** No more runs will come: the chunks end once the runs there are have ended. */
  finish (): void {
    this.finished = true
    this.poke()
    this.wakeSenders()
  }

  private wakeSenders (): void {
    const waiters = this.runWaiters
    this.runWaiters = []
    for (const wake of waiters) wake()
  }

  /** The caller has gone: the monitors carry on with their logs alone. */
  close (): void {
    this.closed = true
    for (const run of this.runs) run.close()
    this.runs.length = 0
    this.poke()
    this.wakeSenders()
  }

  /** The output, run after run; a connection is read ahead only as far as READ_AHEAD. */
  async * chunks (): AsyncGenerator<OutputChunk[]> {
    while (!this.closed) {
      const run = this.runs[0]
      if (run === undefined && this.finished) return
      const taken = run?.take()
      if (taken !== undefined && taken.length > 0) yield taken
      else if (run?.done === true) this.runs.shift()
      else await new Promise<void>(resolve => { this.wake = resolve })
    }
  }

  private poke (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}

/** A run's connection: dialled until its monitor answers, then read into messages. */
class RunReader {
  done = false
  /** Whether the monitor answered (once it has, or has not). */
  connected: Promise<boolean> = Promise.resolve(false)
  private readonly socket: RunSocket
  private readonly parser: FrameParser
  private queued: OutputChunk[] = []
  private queuedBytes = 0
  private paused = false

  constructor (allocate: Allocate, private readonly changed: () => void) {
    this.parser = new FrameParser(allocate)
    this.socket = new RunSocket(scratch, {
      piece: (stream, data) => this.parser.piece(stream, data, this.queue),
      read: () => this.read(),
      ended: () => this.end()
    })
  }

  async dial (address: string, points: AttachPoints, launched: Promise<unknown>, closed: () => boolean): Promise<boolean> {
    // Even for a caller that has gone: the monitor reads none of the workload's output until this connection comes.
    if (await points.until(async () => await this.socket.connect(address), launched)) {
      if (!closed()) return true
      this.close()
    } else {
      this.end()
    }
    return false
  }

  /** Input for the monitor, once it has answered; none when it did not. */
  async send (input: Input): Promise<void> {
    if (await this.connected) await this.socket.send(input)
  }

  /** What has been read and not yet taken; reading goes on. */
  take (): OutputChunk[] {
    const out = this.queued
    this.queued = []
    this.queuedBytes = 0
    if (this.paused) {
      this.paused = false
      this.socket.resume()
    }
    return out
  }

  close (): void {
    this.socket.close()
    this.end()
  }

  private readonly queue = (chunk: OutputChunk): void => {
    this.queued.push(chunk)
    this.queuedBytes += chunk.data.length
  }

  /** The end of a read: its messages are queued; false pauses the connection until the caller takes them. */
  private read (): boolean {
    this.parser.flush(this.queue)
    this.changed()
    this.paused = this.queuedBytes >= READ_AHEAD
    return !this.paused
  }

  private end (): void {
    this.done = true
    this.changed()
  }
}

/** Frames' pieces in, output out: a stream's bytes are gathered into messages of up to MESSAGE_MAX, one per read at least. */
export class FrameParser {
  private message?: { buf: MessageBuffer, stream: OutputStream, size: number }

  constructor (private readonly allocate: Allocate) {}

  /** Copies a piece of a frame into the message being gathered, emitting the one before when it is full or of the other stream. */
  piece (stream: OutputStream, data: Buffer, emit: (chunk: OutputChunk) => void): void {
    for (let at = 0; at < data.length;) {
      if (this.message !== undefined && (this.message.stream !== stream || this.message.size === MESSAGE_MAX)) this.flush(emit)
      this.message ??= { buf: this.allocate(stream), stream, size: 0 }
      const n = Math.min(data.length - at, MESSAGE_MAX - this.message.size)
      data.copy(this.message.buf.buf, this.message.size, at, at + n)
      this.message.size += n
      at += n
    }
  }

  /** Emits the message being gathered, if it holds anything. */
  flush (emit: (chunk: OutputChunk) => void): void {
    if (this.message !== undefined && this.message.size > 0) emit({ stream: this.message.stream, data: this.message.buf.finish(this.message.size) })
    this.message = undefined
  }
}

/** A message buffer of its own, for callers that lay nothing out. */
export function plainBuffer (): MessageBuffer {
  const buf = Buffer.allocUnsafe(MESSAGE_MAX)
  return { buf, finish: size => Buffer.from(buf.subarray(0, size)) }
}
