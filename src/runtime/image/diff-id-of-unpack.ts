// A layer's diff_id check fed by the unpack that decompresses it anyway, so a pulled layer is
// decompressed once, not once to check and once to unpack. Where the unpack does not read the layer
// whole (it failed, or had no need of it), the check reads the blob itself as DiffIdCheck does.
import type { BlobTail } from './blob-tail.ts'
import type { BlobCheck } from './content-store.ts'
import { DiffIdCheck, holdsDiffId } from './diff-id.ts'
import type { Compression } from './layer-format.ts'

export class DiffIdOfUnpack implements BlobCheck {
  private tell: (digest: string | undefined) => void = () => {}
  private readonly told = new Promise<string | undefined>(resolve => { this.tell = resolve })

  /** `layer` names it in messages; `tail` reads the blob being stored, should the unpack not say. */
  constructor (private readonly compression: Compression, private readonly digest: string, private readonly diffId: string, private readonly layer: string, private readonly tail: BlobTail) {}

  /** The digest of the layer's whole uncompressed tar, as the unpack read it; undefined when it did not read it whole. */
  unpacked (digest: string | undefined): void {
    this.tell(digest)
  }

  write (): undefined {
    return undefined
  }

  async end (): Promise<void> {
    const actual = await this.told
    if (actual !== undefined) return holdsDiffId(this.layer, actual, this.diffId)
    const check = new DiffIdCheck(this.compression, this.digest, this.diffId, this.layer)
    try {
      for await (const chunk of this.tail.read()) await check.write(chunk)
      await check.end()
    } finally {
      check.destroy()
    }
  }

  /** The blob failed on its own; nothing is left to wait for. */
  destroy (): void {
    this.tell(undefined)
  }
}
