/**
 * The mapped-ram file, version 1 (capability `mappedRam`; QEMU 9's
 * `mapped-ram`). Integers are big-endian. Every page of a RAM block has a
 * fixed place in the file, so a page written again overwrites itself and the
 * file never grows past the guest's RAM (plus its metadata).
 *
 * ```
 * file    := header region{blockCount} device end
 * header  := magic:u32 = 0x46524d52 ("FRMR")  version:u16 = 1  flags:u16 = 0
 *            pageSize:u32  blockCount:u16  endOffset:u64  block{blockCount}  crc:u32
 * block   := nameLen:u8 name:ascii[nameLen] usedBytes:u64 pageSize:u32
 *            bitmapOffset:u64 crcOffset:u64 pagesOffset:u64
 * region  := bitmap:u8[ceil(pages/8)]  (at bitmapOffset: bit p, byte p>>3 bit p&7, set when
 *                                      page p is in the pages region; clear pages restore as zero)
 *            crcs:u32[pages]           (at crcOffset: CRC-32 of each page whose bit is set)
 *            hole                      (zeros, up to the next multiple of 1 MiB)
 *            pages:u8[usedBytes]       (at pagesOffset, a multiple of 1 MiB: page p at
 *                                      pagesOffset + p * pageSize; never-written pages are holes)
 * device  := len:u32 state:u8[len]     (at endOffset, the end of the last block's pages; len <= 1 MiB)
 * end     := magic:u32 = 0x46454e44 ("FEND")  crc:u32
 * ```
 *
 * The regions follow the header in block order, each offset derived from the
 * one before ({@link mappedRamLayout}); a reader recomputes them from the
 * block list and refuses a file whose offsets differ. The header's `crc`
 * covers the header before it; the end's `crc` covers the header, every
 * bitmap and CRC table, and the device section, in file order. The file is
 * valid only once `end` is written, last, and its size is exactly the end of
 * `end`: a file cut short anywhere is refused.
 *
 * @example
 * ```ts
 * import { MAPPED_RAM_MAGIC, PAGES_ALIGN_BYTES } from "./mapped_ram_format.ts";
 * console.log(MAPPED_RAM_MAGIC.toString(16), PAGES_ALIGN_BYTES); // 46524d52 1048576
 * ```
 * @module
 */
import { CRC_BYTES, DEVICE_LEN_BYTES, NAME_LEN_BYTES, PAGE_SIZE_BYTES } from "./format.ts";

/** "FRMR". */
export const MAPPED_RAM_MAGIC = 0x46524d52;
/** "FEND". */
export const MAPPED_RAM_END_MAGIC = 0x46454e44;
/** File version this code writes and reads. */
export const MAPPED_RAM_VERSION = 1;
/** Every pages region starts at a multiple of this (1 MiB: O_DIRECT and any filesystem). */
export const PAGES_ALIGN_BYTES = 1024 * 1024;

/** Widths of the file's fields, in bytes. */
export const MAGIC_BYTES = 4,
  VERSION_BYTES = 2,
  FLAGS_BYTES = 2,
  BLOCK_COUNT_BYTES = 2,
  OFFSET_BYTES = 8,
  USED_BYTES_BYTES = 8,
  PAGE_CRC_BYTES = CRC_BYTES;

/** The header before its blocks: magic, version, flags, page size, block count, end offset. */
export const FILE_HEAD_BYTES = MAGIC_BYTES + VERSION_BYTES + FLAGS_BYTES + PAGE_SIZE_BYTES +
  BLOCK_COUNT_BYTES + OFFSET_BYTES;
/** A block header without its name: name length, used length, page size, three offsets. */
export const BLOCK_HEAD_BYTES = NAME_LEN_BYTES + USED_BYTES_BYTES + PAGE_SIZE_BYTES +
  3 * OFFSET_BYTES;
/** The longest block name. */
export const BLOCK_NAME_BYTES_MAX = 255;
/** The device section's head. */
export const FILE_DEVICE_HEAD_BYTES = DEVICE_LEN_BYTES;
/** The end record: magic and checksum. */
export const FILE_END_BYTES = MAGIC_BYTES + CRC_BYTES;

/** One block's place in the file. */
export interface MappedRamBlockLayout {
  name: string;
  /** Bytes of the block (a multiple of the page size). */
  usedBytes: number;
  pages: number;
  bitmapOffset: number;
  bitmapBytes: number;
  crcOffset: number;
  crcBytes: number;
  /** A multiple of {@link PAGES_ALIGN_BYTES}. */
  pagesOffset: number;
}

/** Where everything is in a mapped-ram file. */
export interface MappedRamLayout {
  pageSize: number;
  /** Bytes of the header, its checksum included. */
  headerBytes: number;
  blocks: MappedRamBlockLayout[];
  /** Where the device section starts: the end of the last pages region. */
  endOffset: number;
}

/** `n` rounded up to a multiple of `to`. */
export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * The layout of a file holding `blocks` (names in ASCII, sizes in bytes).
 *
 * @example
 * ```ts
 * import { mappedRamLayout } from "./mapped_ram_format.ts";
 * const l = mappedRamLayout([{ name: "pc.ram", bytes: 1 << 20 }], 4096);
 * console.log(l.blocks[0].pagesOffset, l.endOffset); // 1048576 2097152
 * ```
 */
export function mappedRamLayout(
  blocks: readonly { name: string; bytes: number }[],
  pageSize: number,
): MappedRamLayout {
  let at = FILE_HEAD_BYTES + CRC_BYTES;
  for (const b of blocks) at += BLOCK_HEAD_BYTES + b.name.length;
  const headerBytes = at;
  const out: MappedRamBlockLayout[] = [];
  for (const b of blocks) {
    const pages = b.bytes / pageSize;
    const bitmapOffset = at;
    const bitmapBytes = Math.ceil(pages / 8);
    const crcOffset = bitmapOffset + bitmapBytes;
    const crcBytes = pages * PAGE_CRC_BYTES;
    const pagesOffset = roundUp(crcOffset + crcBytes, PAGES_ALIGN_BYTES);
    out.push({
      name: b.name,
      usedBytes: b.bytes,
      pages,
      bitmapOffset,
      bitmapBytes,
      crcOffset,
      crcBytes,
      pagesOffset,
    });
    at = pagesOffset + b.bytes;
  }
  return { pageSize, headerBytes, blocks: out, endOffset: at };
}
