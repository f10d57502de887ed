/**
 * Page records, one typed writer per kind (grammar in format.ts), each with
 * the most bytes it can take, built from format.ts's field widths. The
 * sender makes room first (`w.free < bound`: flush), then writes the record
 * in one go: a record is never split by a flush the gate could refuse.
 *
 * The writers are synchronous and allocate nothing, except the NORMAL one,
 * which may send its page data straight from guest RAM and so awaits the
 * link. Each returns the record's length in bytes, for the statistics. They
 * take their fields as positional parameters on purpose: they run once per
 * page, and an options object would be an allocation per page.
 *
 * | kind    | head     | payload                                    | bound                         |
 * | ------- | -------- | ------------------------------------------ | ----------------------------- |
 * | ZERO    | 1..7     | nothing                                    | {@link ZERO_RECORD_BYTES_MAX} |
 * | NORMAL  | 1..7     | count:u16 pad data:u8[count*4096] crc:u32[count] | {@link normalRecordBytesMax} |
 * | XBZRLE  | 1..7     | len:u16 data:u8[len]                       | {@link xbzrleRecordBytesMax}  |
 * | DEFLATE | 1..7     | count:u16 len:u32 data:u8[len]             | {@link deflateRecordBytesMax} |
 * | HASH    | 1..7     | sha256:u8[32]                              | {@link HASH_RECORD_BYTES_MAX} |
 *
 * Sections (header, setup, RAM head and end, device state, end, abort) are
 * written by {@link StreamWriter}'s methods, sized from the same widths.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { StreamWriter } from "./writer.ts";
 * import { writeZeroRecord, ZERO_RECORD_BYTES_MAX } from "./records.ts";
 * const [a] = memoryLinkPair();
 * const w = new StreamWriter(a);
 * await w.ramBegin(0);
 * if (w.free < ZERO_RECORD_BYTES_MAX) await w.flush();
 * console.log(writeZeroRecord(w, 0, 0), writeZeroRecord(w, 0, 1)); // 7 1
 * ```
 * @module
 */
import {
  COUNT_BYTES,
  CRC_BYTES,
  DEFLATE_HEAD_BYTES,
  HASH_BYTES,
  HASH_RECORD_BYTES,
  KIND_DEFLATE,
  KIND_HASH,
  KIND_NORMAL,
  KIND_XBZRLE,
  KIND_ZERO,
  PAD_BYTES_MAX,
  RECORD_HEAD_BYTES_MAX,
  XBZRLE_LEN_BYTES,
} from "./format.ts";
import { PAGE_SIZE } from "../contract/page.ts";
import type { StreamWriter } from "./writer.ts";

/** Most bytes of a ZERO record: its head. */
export const ZERO_RECORD_BYTES_MAX = RECORD_HEAD_BYTES_MAX;

/**
 * Most bytes of a NORMAL record of `pages` pages: head, count, padding, one
 * checksum per page, and the page data when it is copied into the buffer
 * (`inline`); page data sent straight from RAM takes no room in the buffer.
 */
export function normalRecordBytesMax(pages: number, inline: boolean): number {
  return RECORD_HEAD_BYTES_MAX + COUNT_BYTES + PAD_BYTES_MAX + CRC_BYTES * pages +
    (inline ? pages * PAGE_SIZE : 0);
}

/** Most bytes of an XBZRLE record whose delta is `len` bytes long. */
export function xbzrleRecordBytesMax(len: number): number {
  return RECORD_HEAD_BYTES_MAX + XBZRLE_LEN_BYTES + len;
}

/** Most bytes of a DEFLATE record whose compressed data is `len` bytes long. */
export function deflateRecordBytesMax(len: number): number {
  return RECORD_HEAD_BYTES_MAX + DEFLATE_HEAD_BYTES + len;
}

/** Writes a ZERO record for `page` of `block`; returns its length. */
export function writeZeroRecord(w: StreamWriter, block: number, page: number): number {
  return w.recordHead(KIND_ZERO, block, page, 1);
}

/**
 * Writes a NORMAL record: `data` holds whole pages from `page` of `block`,
 * copied into the buffer, or with `direct` sent from where they are. Room
 * for {@link normalRecordBytesMax} must have been made. Returns its length.
 */
export async function writeNormalRecord(
  w: StreamWriter,
  block: number,
  page: number,
  data: Uint8Array,
  direct: boolean,
): Promise<number> {
  const pages = data.length / PAGE_SIZE;
  const head = w.recordHead(KIND_NORMAL, block, page, pages);
  w.u16(pages);
  const pad = w.align8();
  return head + COUNT_BYTES + pad + await w.pageData(data, direct);
}

/**
 * Writes an XBZRLE record for `page` of `block`: the first `len` bytes of
 * `delta`. Room for {@link xbzrleRecordBytesMax} must have been made.
 * Returns its length.
 */
export function writeXbzrleRecord(
  w: StreamWriter,
  block: number,
  page: number,
  delta: Uint8Array,
  len: number,
): number {
  const head = w.recordHead(KIND_XBZRLE, block, page, 1);
  w.u16(len);
  w.copy(delta, 0, len);
  return head + XBZRLE_LEN_BYTES + len;
}

/**
 * Writes a DEFLATE record: `pages` pages from `page` of `block`, compressed
 * into `packed`. Room for {@link deflateRecordBytesMax} must have been made.
 * Returns its length.
 */
export function writeDeflateRecord(
  w: StreamWriter,
  block: number,
  page: number,
  pages: number,
  packed: Uint8Array,
): number {
  const head = w.recordHead(KIND_DEFLATE, block, page, pages);
  w.u16(pages);
  w.u32(packed.length);
  w.copy(packed, 0, packed.length);
  return head + DEFLATE_HEAD_BYTES + packed.length;
}

/** Most bytes of a HASH record: its head and the digest. */
export const HASH_RECORD_BYTES_MAX = HASH_RECORD_BYTES;

/**
 * Writes a HASH record for `page` of `block`: the page's SHA-256, the
 * {@link HASH_BYTES} bytes of `digest` from `off`. Room for
 * {@link HASH_RECORD_BYTES_MAX} must have been made. Returns its length.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { StreamWriter } from "./writer.ts";
 * import { writeHashRecord } from "./records.ts";
 * const [a] = memoryLinkPair();
 * const w = new StreamWriter(a);
 * await w.ramBegin(0);
 * console.log(writeHashRecord(w, 0, 3, new Uint8Array(32), 0)); // 39
 * ```
 */
export function writeHashRecord(
  w: StreamWriter,
  block: number,
  page: number,
  digest: Uint8Array,
  off: number,
): number {
  const head = w.recordHead(KIND_HASH, block, page, 1);
  w.copy(digest, off, HASH_BYTES);
  return head + HASH_BYTES;
}
