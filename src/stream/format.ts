/**
 * The Ferry migration stream, version 2. Integers are big-endian.
 *
 * ```
 * stream    := header setup ram* device end          (a completed migration)
 *            | header [setup ram*] abort              (the source gave up)
 * header    := magic:u32 = 0x46455259 ("FERY")  version:u16 = 2  flags:u16 = 0
 * setup     := 0x01 pageSize:u32 capabilities:u32 blockCount:u16 block{blockCount}
 *              paramsLen:u16 params:msgpack[paramsLen]
 *   capabilities := bit 0 XBZRLE | bit 1 COMPRESS | bit 2 HASH (other bits: refused)
 *   params  := empty, or a msgpack map (stream/params.ts): compressMethod "deflate" | "zstd"
 * block     := nameLen:u8 name:ascii[nameLen] pages:u32
 * ram       := 0x02 round:u32 record* eos
 * record    := flags:u8 address payload
 *   flags   := kind (bits 0-4) | addressing (bits 6-7)
 *   address := (addressing 0, FULL)  block:u16 page:u32
 *            | (addressing 1, BLOCK) page:u32            (same block as the last record)
 *            | (addressing 2, NEXT)  nothing             (the page after the last record's last page)
 *   kind 1 ZERO    payload := nothing                    (a zero page: 1 byte with NEXT)
 *   kind 2 NORMAL  payload := count:u16 pad data:u8[count*pageSize] crc:u32[count]
 *                  (count consecutive pages, 1..256; crc: CRC-32 of each page)
 *   pad     := 0x00{0..7}, up to the next stream offset that is a multiple of 8
 *   kind 3 XBZRLE  payload := len:u16 data:u8[len]       (capability XBZRLE: the page as a delta against
 *                  the destination's copy, len 1..pageSize; data's grammar in engine/xbzrle.ts)
 *   kind 4 DEFLATE payload := count:u16 len:u32 data:u8[len]   (capability COMPRESS: count consecutive
 *                  pages, 1..256, compressed together with the setup's compressMethod; len 1..count*pageSize-1;
 *                  see engine/compress.ts)
 *   kind 5 HASH    payload := sha256:u8[32]              (capability HASH: the page's SHA-256; the
 *                  destination copies a page it holds with that content, verified; see engine/hash_dedup.ts)
 * eos       := 0x00 crc:u32                              (kind 0, addressing 0: end of section)
 * device    := 0x03 len:u32 state:msgpack[len] crc:u32   (at most 1 MiB)
 * end       := 0x04 crc:u32
 * abort     := 0x05 len:u16 reason:utf8[len]
 * ```
 *
 * Checksums (CRC-32, as zlib computes it). The `crc` of eos, device and end
 * covers every stream byte from offset 0 up to that field, except NORMAL
 * page data, which the record's trailer covers page by page. The source
 * computes each page's CRC from guest RAM just before the run goes out; if
 * the guest wrote the page meanwhile, the destination sees a mismatch, but
 * such a page is dirty and is sent again. So a mismatching page only becomes
 * suspect; a later ZERO or NORMAL record of the page clears that, and a page
 * still suspect at `end` fails the migration. Any other checksum mismatch
 * fails it at once.
 *
 * Every size the writer ensures and the reader needs is built from the field
 * widths below (`*_BYTES`); src/stream/records.ts derives each record's size
 * from them, and neither side writes a literal size.
 *
 * The return path (destination to source, on the same connection):
 * ```
 * ack       := 0x81 status:u8 (0 loaded, 1 failed) len:u16 message:utf8[len]
 * summary   := 0x82 reasonLen:u16 reason:utf8[reasonLen] count:u32 prefix:u64[count]
 *              (capability HASH, once, after the setup: the first 8 bytes of the SHA-256 of every
 *              distinct page the destination's checkpoint holds; a reason: no checkpoint, plain precopy)
 * request   := 0x83 block:u16 page:u32                   (HASH: a hash the destination could not
 *              resolve; the source sends the page in full)
 * done      := 0x84 round:u32                            (HASH: every record of that RAM section was
 *              handled, its requests sent before this)
 * beat      := 0x85                                      (HASH: the destination resolved another 4096
 *              hashes; it is busy, not silent)
 * ```
 *
 * @example
 * ```ts
 * import { MAGIC, VERSION } from "./format.ts";
 * console.log(MAGIC.toString(16), VERSION); // 46455259 2
 * ```
 * @module
 */

/** "FERY". */
export const MAGIC = 0x46455259;
/** Stream version this code writes and reads. */
export const VERSION = 2;
/** Header length in bytes. */
export const HEADER_BYTES = 8;

/** Section types. */
export const SECTION_SETUP = 0x01,
  SECTION_RAM = 0x02,
  SECTION_DEVICE = 0x03,
  SECTION_END = 0x04,
  SECTION_ABORT = 0x05;

/** Record kinds (flags bits 0-4). */
export const KIND_EOS = 0, KIND_ZERO = 1, KIND_NORMAL = 2, KIND_XBZRLE = 3, KIND_DEFLATE = 4;
/** Record kind of a page sent as its SHA-256 (capability HASH). */
export const KIND_HASH = 5;
/** Mask of the kind bits. */
export const KIND_MASK = 0x1f;
/** Addressing modes (flags bits 6-7). */
export const ADDR_FULL = 0x00, ADDR_BLOCK = 0x40, ADDR_NEXT = 0x80;
/** Mask of the addressing bits. */
export const ADDR_MASK = 0xc0;

/** Most pages in one NORMAL or DEFLATE record. */
export const RUN_PAGES_MAX = 256;
/** Longest device-state section. */
export const DEVICE_BYTES_MAX = 1024 * 1024;
/** Most RAM blocks. */
export const BLOCKS_MAX = 256;
/** Longest setup parameter blob. */
export const PARAMS_BYTES_MAX = 16 * 1024;

/** Return-path message: the destination's verdict. */
export const RP_ACK = 0x81;
/** Return-path messages of capability HASH: the checkpoint summary, a page request, a section done. */
export const RP_HASH_SUMMARY = 0x82, RP_PAGE_REQUEST = 0x83, RP_SECTION_DONE = 0x84, RP_BEAT = 0x85;
/** HASH records the destination resolves between two beats. */
export const HASH_BEAT_RECORDS = 4096;
/** Ack statuses. */
export const ACK_LOADED = 0, ACK_FAILED = 1;

/** Capability bits in the setup section. */
export const CAP_XBZRLE = 1 << 0, CAP_COMPRESS = 1 << 1, CAP_HASH = 1 << 2;

/** Names of record kinds, for statistics. */
export const KIND_NAMES = ["eos", "zero", "normal", "xbzrle", "deflate", "hash"] as const;

/** Return-path ack head: type, status and message length (`0x81 status:u8 len:u16`). */
export const ACK_HEAD_BYTES = 4;
/** Longest ack message and abort reason, in bytes of UTF-8 (longer ones are cut). */
export const MESSAGE_BYTES_MAX = 1024;

/** A SHA-256 digest: a HASH record's payload. */
export const HASH_BYTES = 32;
/** A summary entry: the first bytes of a SHA-256. */
export const HASH_PREFIX_BYTES = 8;
/** The summary's head after its type: reason length (the reason and the count follow). */
export const SUMMARY_REASON_LEN_BYTES = 2, SUMMARY_COUNT_BYTES = 4;
/** Most entries a summary may carry (a 64 GiB checkpoint of distinct pages). */
export const SUMMARY_ENTRIES_MAX = 16 * 1024 * 1024;

/** Widths of the stream's fields, in bytes (see the grammar above). */
export const TYPE_BYTES = 1, // a section type, or a record's flags
  BLOCK_ID_BYTES = 2,
  PAGE_INDEX_BYTES = 4,
  ROUND_BYTES = 4,
  CRC_BYTES = 4,
  /** `count:u16` of NORMAL and DEFLATE records. */
  COUNT_BYTES = 2,
  XBZRLE_LEN_BYTES = 2,
  DEFLATE_LEN_BYTES = 4,
  DEVICE_LEN_BYTES = 4,
  ABORT_LEN_BYTES = 2,
  /** Most zero bytes before NORMAL page data (up to a stream offset that is a multiple of 8). */
  PAD_BYTES_MAX = 7;
/** Setup fields: page size, capabilities, block count, name length, block pages, parameter length. */
export const PAGE_SIZE_BYTES = 4,
  CAPABILITIES_BYTES = 4,
  BLOCK_COUNT_BYTES = 2,
  NAME_LEN_BYTES = 1,
  BLOCK_PAGES_BYTES = 4,
  PARAMS_LEN_BYTES = 2;

/** The setup section after its type: page size, capabilities, block count. */
export const SETUP_HEAD_BYTES = PAGE_SIZE_BYTES + CAPABILITIES_BYTES + BLOCK_COUNT_BYTES;
/** A RAM section's head: type and round. */
export const RAM_HEAD_BYTES = TYPE_BYTES + ROUND_BYTES;
/** The end-of-section record: flags and the checksum. */
export const EOS_BYTES = TYPE_BYTES + CRC_BYTES;
/** The device section's head: type and length (the state and a checksum follow). */
export const DEVICE_HEAD_BYTES = TYPE_BYTES + DEVICE_LEN_BYTES;
/** The end section: type and the checksum. */
export const END_BYTES = TYPE_BYTES + CRC_BYTES;
/** The abort section's head: type and reason length. */
export const ABORT_HEAD_BYTES = TYPE_BYTES + ABORT_LEN_BYTES;
/** A FULL record address: block and page. */
export const ADDR_FULL_BYTES = BLOCK_ID_BYTES + PAGE_INDEX_BYTES;
/** A BLOCK record address: page. */
export const ADDR_BLOCK_BYTES = PAGE_INDEX_BYTES;
/** The longest record head: flags and a FULL address. */
export const RECORD_HEAD_BYTES_MAX = TYPE_BYTES + ADDR_FULL_BYTES;
/** A DEFLATE record's payload head: count and length. */
export const DEFLATE_HEAD_BYTES = COUNT_BYTES + DEFLATE_LEN_BYTES;
/** A return-path page request (HASH): type, block and page. */
export const PAGE_REQUEST_BYTES = TYPE_BYTES + BLOCK_ID_BYTES + PAGE_INDEX_BYTES;
/** A return-path section done (HASH): type and round. */
export const SECTION_DONE_BYTES = TYPE_BYTES + ROUND_BYTES;
/** A HASH record's most bytes: head and digest. */
export const HASH_RECORD_BYTES = RECORD_HEAD_BYTES_MAX + HASH_BYTES;
