// Reading a run's attached output off its monitor's socket, for the daemon (which passes it on to
// remote and SDK callers) and for the local CLI (which reads it itself) alike. The monitor sends
// frames ([stream][u32 big-endian length][bytes]); each read lands in a buffer of the reader's own,
// and the frames' bytes are handed over where they lie in it, so a reader copies only what it keeps.
import { closeSync, openSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { basename, dirname } from 'node:path'
import { firstEvent } from './first-event.ts'

export type OutputStream = 'stdout' | 'stderr'

/** A socket path longer than this is reached through its directory's descriptor (sun_path holds 108 bytes). */
export const ADDRESS_MAX = 100

/** A caller's input as its monitor takes it: stdin bytes, a new window size, the end of stdin. */
export interface Input {
  stdin?: Uint8Array
  size?: { rows: number, cols: number }
  stdinEnd?: boolean
}

/** Input → the frames a reader sends its monitor ([kind][u32 big-endian length][bytes]: 1 stdin, 2 its end, 3 a size). */
export function inputFrames (input: Input): Buffer[] {
  const frames: Buffer[] = []
  const frame = (kind: number, body: Uint8Array): void => {
    const head = Buffer.alloc(5)
    head[0] = kind
    head.writeUInt32BE(body.length, 1)
    frames.push(head, Buffer.from(body.buffer, body.byteOffset, body.byteLength))
  }
  if (input.stdin !== undefined && input.stdin.length > 0) frame(1, input.stdin)
  if (input.size !== undefined && input.size.rows > 0) {
    const size = Buffer.alloc(4)
    size.writeUInt16BE(Math.min(input.size.rows, 0xffff), 0)
    size.writeUInt16BE(Math.min(input.size.cols, 0xffff), 2)
    frame(3, size)
  }
  if (input.stdinEnd === true) frame(2, Buffer.alloc(0))
  return frames
}

/** Cuts frames out of reads, however the reads cut them; the bytes are handed on as views of the read. */
export class FrameSplitter {
  private readonly head = Buffer.alloc(5)
  private headBytes = 0
  private left = 0
  private stream: OutputStream = 'stdout'

  /** Hands on each piece of frame data in `bytes` (valid until it returns); false for a frame no monitor sends. */
  push (bytes: Buffer, piece: (stream: OutputStream, data: Buffer) => void): boolean {
    let at = 0
    while (at < bytes.length) {
      if (this.left === 0) {
        const n = Math.min(5 - this.headBytes, bytes.length - at)
        bytes.copy(this.head, this.headBytes, at, at + n)
        this.headBytes += n
        at += n
        if (this.headBytes < 5) break
        this.headBytes = 0
        const id = this.head[0]
        if (id !== 1 && id !== 2) return false
        this.stream = id === 1 ? 'stdout' : 'stderr'
        this.left = this.head.readUInt32BE(1)
        continue
      }
      const n = Math.min(this.left, bytes.length - at)
      piece(this.stream, bytes.subarray(at, at + n))
      this.left -= n
      at += n
    }
    return true
  }
}

/** What a run's connection is read for. */
export interface RunSink {
  /** A piece of output, valid only until this returns (the next read lands in the same buffer). */
  piece: (stream: OutputStream, data: Buffer) => void
  /** After each read: false stops reading until resume(). */
  read: () => boolean
  /** The connection has ended, or broke, or carried what no monitor sends. */
  ended: () => void
}

/** One run's attach connection, read into `buffer` and cut into frames for `sink`. */
export class RunSocket {
  private socket?: Socket
  private readonly frames = new FrameSplitter()

  constructor (private readonly buffer: Buffer, private readonly sink: RunSink) {}

  /** Whether the monitor answered at `address`; its output then goes to the sink until the connection ends.
   * A `paused` connection is read only once resume() is called. */
  async connect (address: string, paused = false): Promise<boolean> {
    return await new Promise(resolve => {
      let connected = false
      const socket = connect({ path: address, onread: { buffer: this.buffer, callback: (n: number) => this.read(n) } })
      if (paused) socket.pause()
      this.socket = socket
      socket.once('connect', () => {
        connected = true
        socket.once('close', () => this.sink.ended())
        resolve(true)
      })
      socket.on('error', () => {
        if (connected) return
        this.socket = undefined
        resolve(false)
      })
    })
  }

  resume (): void {
    this.socket?.resume()
  }

  /** Sends the caller's input to the monitor; resolves once the socket has taken it (or has closed). */
  async send (input: Input): Promise<void> {
    const socket = this.socket
    if (socket === undefined || socket.destroyed) return
    let room = true
    for (const frame of inputFrames(input)) room = socket.write(frame)
    if (!room) await firstEvent([socket, 'drain'], [socket, 'close'])
  }

  close (): void {
    this.socket?.destroy()
  }

  private read (n: number): boolean {
    if (!this.frames.push(this.buffer.subarray(0, n), this.sink.piece)) {
      this.socket?.destroy()
      return false
    }
    return this.sink.read()
  }
}

/** Where a process connects to reach the socket at `path`: the path itself, or, for a path too long
 * for an address, the same name through a descriptor of its directory (closed by `release`). */
export function socketAddress (path: string): { address: string, release: () => void } {
  if (Buffer.byteLength(path) <= ADDRESS_MAX) return { address: path, release: () => {} }
  const dir = openSync(dirname(path), 'r')
  return { address: `/proc/self/fd/${dir}/${basename(path)}`, release: () => closeSync(dir) }
}
