/**
 * Builds ELF core files in the layout QEMU's `dump-guest-memory` writes, for
 * tests: the ELF header, program headers (a PT_NOTE, then one PT_LOAD per
 * RAM range), the note, then each range's bytes.
 * @module
 */

/** How to build the file. */
export interface ElfCoreOptions {
  /** ELF64 (default) or ELF32. */
  class64?: boolean;
  /** Little-endian (default) or big-endian. */
  littleEndian?: boolean;
  /** Guest-physical ranges, each dumped as one PT_LOAD: their bytes. */
  ranges: Uint8Array[];
  /** Write e_phnum as PN_XNUM and the count in section header 0's sh_info. */
  xnum?: boolean;
}

/** An ELF core file of `ranges`. */
export function elfCore(o: ElfCoreOptions): Uint8Array {
  const is64 = o.class64 ?? true, le = o.littleEndian ?? true;
  const ehBytes = is64 ? 64 : 52, phBytes = is64 ? 56 : 32, shBytes = is64 ? 64 : 40;
  const phnum = 1 + o.ranges.length;
  const note = new Uint8Array(20); // one empty note: namesz, descsz, type, "CORE"
  const shoff = o.xnum ? ehBytes + phnum * phBytes : 0;
  let at = ehBytes + phnum * phBytes + (o.xnum ? shBytes : 0);
  const noteAt = at;
  at += note.length;
  const loads = o.ranges.map((r) => {
    const off = at;
    at += r.length;
    return off;
  });
  const out = new Uint8Array(at);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
  const u16 = (p: number, x: number) => v.setUint16(p, x, le);
  const u32 = (p: number, x: number) => v.setUint32(p, x, le);
  const u64 = (p: number, x: number) => {
    v.setUint32(le ? p : p + 4, x >>> 0, le);
    v.setUint32(le ? p + 4 : p, Math.floor(x / 2 ** 32), le);
  };
  const word = is64 ? u64 : u32;
  u16(16, 4); // ET_CORE
  u16(18, is64 ? 62 : 3); // EM_X86_64 / EM_386
  u32(20, 1);
  word(is64 ? 32 : 28, ehBytes); // e_phoff
  word(is64 ? 40 : 32, shoff); // e_shoff
  u16(is64 ? 52 : 40, ehBytes);
  u16(is64 ? 54 : 42, phBytes);
  u16(is64 ? 56 : 44, o.xnum ? 0xffff : phnum);
  u16(is64 ? 58 : 46, o.xnum ? shBytes : 0);
  u16(is64 ? 60 : 48, o.xnum ? 1 : 0);
  const ph = (i: number, type: number, off: number, paddr: number, size: number) => {
    const p = ehBytes + i * phBytes;
    u32(p, type);
    if (is64) {
      u64(p + 8, off);
      u64(p + 16, paddr);
      u64(p + 24, paddr);
      u64(p + 32, size);
      u64(p + 40, size);
    } else {
      u32(p + 4, off);
      u32(p + 8, paddr);
      u32(p + 12, paddr);
      u32(p + 16, size);
      u32(p + 20, size);
    }
  };
  ph(0, 4, noteAt, 0, note.length); // PT_NOTE
  let paddr = 0;
  o.ranges.forEach((r, i) => {
    ph(i + 1, 1, loads[i], paddr, r.length);
    paddr += r.length + 0x100000; // a hole between ranges, as below and above 4 GiB
  });
  if (o.xnum) u32(shoff + (is64 ? 44 : 28), phnum);
  out.set(note, noteAt);
  o.ranges.forEach((r, i) => out.set(r, loads[i]));
  return out;
}
