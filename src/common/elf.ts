// What a program's ELF header says of how it runs: a guest and the host's checks both ask whether it is static.

/** Whether an ELF file asks for a dynamic linker (a PT_INTERP program header): busybox must not. */
export function isDynamic (elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return true
  const phoff = Number(elf.readBigUInt64LE(0x20))
  const phentsize = elf.readUInt16LE(0x36)
  const phnum = elf.readUInt16LE(0x38)
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize
    if (at + 4 <= elf.length && elf.readUInt32LE(at) === 3) return true
  }
  return false
}
