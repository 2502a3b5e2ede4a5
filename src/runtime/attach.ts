// Attached output straight from each run's monitor: the monitor connects to one owner-only socket
// before it starts the workload, says which run it is by a random id, and sends the output as frames
// ([stream][u32 big-endian length][bytes]). Nothing is read from a connection while its reader is
// busy, so the monitor stops reading the workload's pipes and the workload waits, as on a pipe.
import { randomBytes } from 'node:crypto'
import { chmodSync, closeSync, openSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { basename, dirname } from 'node:path'

/** Takes each run's connection, in the order the runs start. */
export interface Attacher {
  connected: (socket: Socket) => void
}

/** A piece of output, as the caller gets it. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr'
  data: Buffer
}

/** Makes the buffer a message's data is gathered in (the encoder may lay it out inside the message's wire bytes). */
export type Allocate = (stream: OutputChunk['stream'], size: number) => Buffer

const HELLO_MAX = 128
const HELLO_MS = 5_000
/** Read ahead from a connection while the previous message is on its way. */
const READ_AHEAD = 1024 * 1024
/** The largest message; well under the mesh's 4 MB frames. */
export const MESSAGE_MAX = 512 * 1024

export class AttachServer {
  private server?: Server
  private dirFd?: number
  private readonly waiting = new Map<string, Attacher>()

  constructor (readonly path: string) {}

  async start (): Promise<void> {
    rmSync(this.path, { force: true })
    // A path too long for a socket address is reached through its directory.
    let address = this.path
    if (Buffer.byteLength(address) > 100) {
      this.dirFd = openSync(dirname(this.path), 'r')
      address = `/proc/self/fd/${this.dirFd}/${basename(this.path)}`
    }
    const server = createServer({ highWaterMark: READ_AHEAD }, socket => this.accept(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(address, () => { server.off('error', reject); resolve() })
    })
    chmodSync(this.path, 0o600)
    this.server = server
  }

  stop (): void {
    this.server?.close()
    this.server = undefined
    if (this.dirFd !== undefined) closeSync(this.dirFd)
    this.dirFd = undefined
  }

  /** The id a run's monitor will say when it connects; its connection goes to `attacher`. */
  expect (attacher: Attacher): string {
    const id = randomBytes(16).toString('hex')
    this.waiting.set(id, attacher)
    return id
  }

  /** Once a run has started its connection is either there or will never come. */
  forget (id: string): void {
    this.waiting.delete(id)
  }

  private accept (socket: Socket): void {
    let hello = Buffer.alloc(0)
    const timer = setTimeout(() => socket.destroy(), HELLO_MS)
    socket.on('error', () => {})
    const onData = (chunk: Buffer): void => {
      hello = Buffer.concat([hello, chunk])
      const nl = hello.indexOf(10)
      if (nl < 0) {
        if (hello.length > HELLO_MAX) socket.destroy()
        return
      }
      socket.off('data', onData)
      socket.pause()
      clearTimeout(timer)
      const id = hello.toString('latin1', 0, nl)
      const attacher = this.waiting.get(id)
      if (attacher === undefined) {
        socket.destroy()
        return
      }
      this.waiting.delete(id)
      if (nl + 1 < hello.length) socket.unshift(hello.subarray(nl + 1))
      socket.write('k')
      attacher.connected(socket)
    }
    socket.on('data', onData)
  }
}

/** One caller's view of a workload's output: every run's connection, in run order, as coalesced chunks. */
export class AttachedOutput implements Attacher {
  private readonly sockets: Socket[] = []
  constructor (private readonly allocate: Allocate = (_stream, size) => Buffer.allocUnsafe(size)) {}

  private finished = false
  private closed = false
  private wake?: () => void

  connected (socket: Socket): void {
    if (this.closed) socket.destroy()
    else this.sockets.push(socket)
    this.poke()
  }

  /** No more runs will come: the chunks end once the connections there are have ended. */
  finish (): void {
    this.finished = true
    this.poke()
  }

  /** The caller has gone: the monitors carry on with their logs alone. */
  close (): void {
    this.closed = true
    for (const s of this.sockets) s.destroy()
    this.sockets.length = 0
    this.poke()
  }

  /** The output in messages of at most MESSAGE_MAX bytes; the next block is read only while one is being sent. */
  async * chunks (): AsyncGenerator<OutputChunk[]> {
    while (!this.closed) {
      const socket = this.sockets[0]
      if (socket === undefined) {
        if (this.finished) return
        await this.waitForPoke()
        continue
      }
      yield * this.read(socket)
      this.sockets.shift()
    }
  }

  private async * read (socket: Socket): AsyncGenerator<OutputChunk[]> {
    const frames = new FrameParser(this.allocate)
    let queued: Buffer[] = []
    let bytes = 0
    let ended = false
    const onData = (chunk: Buffer): void => {
      queued.push(chunk)
      bytes += chunk.length
      if (bytes >= READ_AHEAD) socket.pause()
      this.poke()
    }
    const onEnd = (): void => { ended = true; this.poke() }
    socket.on('data', onData)
    socket.once('close', onEnd)
    socket.once('end', onEnd)
    socket.resume()
    try {
      while (!this.closed) {
        if (queued.length === 0) {
          if (ended) return
          await this.waitForPoke()
          continue
        }
        const taken = queued
        queued = []
        bytes = 0
        socket.resume()
        const chunks = frames.push(taken)
        if (chunks === undefined) return
        if (chunks.length > 0) yield chunks
      }
    } finally {
      socket.off('data', onData)
      socket.off('close', onEnd)
      socket.off('end', onEnd)
      socket.destroy()
    }
  }

  private async waitForPoke (): Promise<void> {
    await new Promise<void>(resolve => { this.wake = resolve })
  }

  private poke (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}

/** Frames in, output chunks out: consecutive frames of one stream are joined up to MESSAGE_MAX. */
export class FrameParser {
  private readonly held: Buffer[] = []
  private heldBytes = 0

  constructor (private readonly allocate: Allocate) {}

  /** The chunks the buffers complete; undefined for a frame no monitor sends. */
  push (buffers: Buffer[]): OutputChunk[] | undefined {
    for (const b of buffers) this.held.push(b)
    for (const b of buffers) this.heldBytes += b.length
    const out: OutputChunk[] = []
    let parts: Buffer[] = []
    let size = 0
    let current = 0
    const emit = (): void => {
      if (parts.length === 0) return
      const stream = current === 2 ? 'stderr' : 'stdout'
      const data = this.allocate(stream, size)
      let at = 0
      for (const part of parts) at += part.copy(data, at)
      out.push({ stream, data })
      parts = []
      size = 0
    }
    while (this.heldBytes >= 5) {
      const header = this.peek(5)
      const id = header[0]
      const length = header.readUInt32BE(1)
      if ((id !== 1 && id !== 2) || length > MESSAGE_MAX) return undefined
      if (this.heldBytes < 5 + length) break
      this.take(5)
      if (id !== current || size + length > MESSAGE_MAX) emit()
      current = id
      parts.push(...this.take(length))
      size += length
    }
    emit()
    return out
  }

  private peek (n: number): Buffer {
    return this.held[0].length >= n ? this.held[0] : Buffer.concat(this.held.slice(0, n)).subarray(0, n)
  }

  /** The next n bytes, as slices of what is held. */
  private take (n: number): Buffer[] {
    const out: Buffer[] = []
    this.heldBytes -= n
    while (n > 0) {
      const first = this.held[0]
      if (first.length <= n) {
        out.push(first)
        this.held.shift()
        n -= first.length
      } else {
        out.push(first.subarray(0, n))
        this.held[0] = first.subarray(n)
        n = 0
      }
    }
    return out
  }
}
