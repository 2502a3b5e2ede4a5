// Attached output read straight from each run's monitor, as podman's CLI reads conmon's attach socket:
// the daemon only says where each run's monitor listens. Each read lands in one reused buffer and is
// written from there to stdout or stderr; until they have taken it, the socket is not read again, so
// the monitor's pipes fill and the workload waits, as on a pipe.
import { RunSocket, socketAddress, type Input, type OutputStream } from '../../common/attach-frames.ts'
import type { Out } from './io.ts'
import { clean } from './output.ts'

/** The most one read takes: about what a monitor's socket holds. */
const READ_BYTES = 1024 * 1024

interface Run {
  socket: RunSocket
  ended: boolean
}

/** The runs of one attached workload, each read to its end before the next. */
export class DirectOutput {
  private readonly runs: Run[] = []
  private buffer?: Buffer
  /** Writes out of the buffer not yet called back. */
  private writing = 0
  private paused = false
  private waiting: Array<() => void> = []
  private readonly written = (): void => {
    if (--this.writing === 0) this.settle()
  }
  private added!: () => void
  private readonly first = new Promise<void>(resolve => { this.added = resolve })

  constructor (private readonly out: Record<OutputStream, Out>) {}

  /** Connects at once to run `run`'s monitor at `path`, which starts the workload only then; it is read after the runs before it. */
  add (path: string, run: number, name: () => string): void {
    const entry: Run = {
      ended: false,
      socket: new RunSocket(this.buffer ??= Buffer.allocUnsafe(READ_BYTES), {
        piece: (stream, data) => {
          this.writing++
          this.out[stream].write(data, this.written)
        },
        read: () => this.read(),
        ended: () => this.end(entry)
      })
    }
    this.runs.push(entry)
    this.added()
    void connect(entry.socket, path, this.runs.length > 1).then(connected => {
      if (connected) return
      const logs = name() === '' ? 'aurae logs' : `aurae logs ${clean(name())}`
      this.out.stderr.write(`aurae: could not connect to the output of run ${run}; it goes to the log alone (${logs})\n`)
      this.end(entry)
    })
  }

  /**
   * The caller's input (run -i/-t) to the run being read, once there is one: its terminal's size first, then each
   * message once the monitor's socket has taken the one before (the monitor reads on only as the workload takes it).
   */
  async feed (input: { tty: boolean, size: () => { rows: number, cols: number }, messages: () => AsyncIterable<Input> }): Promise<void> {
    await this.first
    if (input.tty) await this.send({ size: input.size() })
    for await (const m of input.messages()) await this.send(m)
  }

  private async send (m: Input): Promise<void> {
    await this.runs.find(r => !r.ended)?.socket.send(m)
  }

  /** Resolves once every run added has ended and all of its output is written. */
  async drained (): Promise<void> {
    while (this.runs.length > 0 || this.writing > 0) await new Promise<void>(resolve => this.waiting.push(resolve))
  }

  /** Lets go of every run's monitor, read to its end or not (aurae lost its node): the workload runs on. */
  close (): void {
    for (const run of this.runs) run.socket.close()
  }

  /** After a read's pieces are written: the buffer is free again if stdout and stderr took them at once. */
  private read (): boolean {
    if ((this.out.stdout.writableLength === 0 && this.out.stderr.writableLength === 0) || this.writing === 0) return true
    this.paused = true
    return false
  }

  private end (run: Run): void {
    run.ended = true
    this.settle()
  }

  /** Once the writes are done: the run at the head reads on, or the next one starts; waiters look again. */
  private settle (): void {
    if (this.writing > 0) return
    const head = this.runs[0]
    while (this.runs[0]?.ended === true) this.runs.shift()
    if (this.paused || this.runs[0] !== head) this.runs[0]?.socket.resume()
    this.paused = false
    const waiting = this.waiting
    this.waiting = []
    for (const wake of waiting) wake()
  }
}

/** Whether the monitor listening at `path` answered. */
async function connect (socket: RunSocket, path: string, paused: boolean): Promise<boolean> {
  let reach
  try {
    reach = socketAddress(path)
  } catch {
    return false
  }
  try {
    return await socket.connect(reach.address, paused)
  } finally {
    reach.release()
  }
}
