/**
 * Reads the migration stream (grammar in format.ts) as hostile input: every
 * length, block id and page number is checked before it is used, and every
 * error is a RangeError or TypeError whose message says what was wrong and at
 * which stream offset. A silent peer is the link's business (its idle
 * timeout); the reader never waits on anything else.
 *
 * Hot path: `need` awaits only when the buffer lacks bytes; the accessors are
 * synchronous.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { StreamReader } from "./reader.ts";
 * import { StreamWriter } from "./writer.ts";
 * const [a, b] = memoryLinkPair();
 * const w = new StreamWriter(a);
 * w.header();
 * const sent = w.finish();
 * const r = new StreamReader(b);
 * await r.header();
 * await sent;
 * ```
 * @module
 */
import { crc32 } from "node:zlib";
import type { Link } from "../net/link.ts";
import { PAGE_SIZE, RAM_BYTES_MAX } from "../contract/page.ts";
import {
  ADDR_BLOCK,
  ADDR_BLOCK_BYTES,
  ADDR_FULL,
  ADDR_FULL_BYTES,
  ADDR_MASK,
  ADDR_NEXT,
  BLOCK_PAGES_BYTES,
  BLOCKS_MAX,
  CRC_BYTES,
  HEADER_BYTES,
  KIND_MASK,
  MAGIC,
  NAME_LEN_BYTES,
  PARAMS_BYTES_MAX,
  PARAMS_LEN_BYTES,
  RECORD_HEAD_BYTES_MAX,
  SETUP_HEAD_BYTES,
  TYPE_BYTES,
  VERSION,
} from "./format.ts";

/** A block as the setup section declares it. */
export interface StreamBlock {
  name: string;
  pages: number;
}

/** The setup section. */
export interface StreamSetup {
  pageSize: number;
  capabilities: number;
  blocks: StreamBlock[];
  params: Uint8Array;
}

/** Buffered reader over a link, tracking the absolute stream offset. */
export class StreamReader {
  #link: Link;
  /** The buffer; valid bytes are `[pos, end)`. */
  buf: Uint8Array;
  /** A DataView over {@link buf}. */
  view: DataView;
  /** Read position in {@link buf}. */
  pos = 0;
  /** End of valid bytes in {@link buf}. */
  end = 0;
  #base = 0;
  #blocks: StreamBlock[] = [];
  #lastBlock = -1;
  #nextPage = -1;
  /** Block of the last record head. */
  block = 0;
  /** Page within block of the last record head. */
  page = 0;
  /** Offset of the last record head (for error messages). */
  recordOffset = 0;
  #maxRamBytes: number;
  /** A stream longer than this is refused: a source that never ends (see streamBytesBound). */
  #maxStreamBytes: number;
  /** CRC-32 of every stream byte before `buf[#crcPos]`, page data left out. */
  #crc = 0;
  #crcPos = 0;

  /** Creates a reader on `link`. */
  constructor(
    link: Link,
    options: {
      bufferBytes?: number;
      maxRamBytes?: number;
      buffer?: Uint8Array;
      maxStreamBytes?: number;
    } = {},
  ) {
    this.#link = link;
    this.#maxStreamBytes = options.maxStreamBytes ?? Infinity;
    // `buffer`: a caller's buffer reused across streams (the fuzzer loads millions).
    this.buf = options.buffer ?? new Uint8Array(options.bufferBytes ?? 4 * 1024 * 1024);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.#maxRamBytes = options.maxRamBytes ?? RAM_BYTES_MAX;
  }

  /** Absolute stream offset of the next unread byte. */
  get offset(): number {
    return this.#base + this.pos;
  }

  /** Bytes received so far. */
  get received(): number {
    return this.#base + this.end;
  }

  /** Ensures `n` unread bytes are buffered; `what` names the thing being read, for errors. */
  async need(n: number, what: string): Promise<void> {
    if (this.end - this.pos >= n) return;
    if (n + 8 > this.buf.length) {
      throw new RangeError(
        `${what} needs ${n} bytes, more than the reader holds, at stream offset ${this.offset}`,
      );
    }
    // Compact, keeping buffer index and stream offset equal mod 8 (aligned page copies).
    const keep = (this.#base + this.pos) & 7;
    if (this.pos > keep) {
      this.checksum();
      this.buf.copyWithin(keep, this.pos, this.end);
      this.#base += this.pos - keep;
      this.end -= this.pos - keep;
      this.pos = this.#crcPos = keep;
    }
    while (this.end - this.pos < n) {
      const got = await this.#link.read(this.buf.subarray(this.end));
      if (got === null) {
        throw new RangeError(
          `Stream ended at offset ${this.#base + this.end} in the middle of ${what} (${
            n - (this.end - this.pos)
          } more bytes expected)`,
        );
      }
      this.end += got;
      this.#checkLength(this.#base + this.end);
    }
  }

  #checkLength(received: number): void {
    if (received > this.#maxStreamBytes) {
      throw new RangeError(
        `The stream passed ${this.#maxStreamBytes} bytes, more than a migration of this guest can send, at stream offset ${received}`,
      );
    }
  }

  /** Reads a byte. */
  u8(): number {
    return this.buf[this.pos++];
  }

  /** Reads a big-endian u16. */
  u16(): number {
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads a big-endian u32. */
  u32(): number {
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /**
   * Moves the next `into.length` stream bytes into `into`: what is buffered is
   * copied, the rest is read from the link straight into `into` (guest RAM is
   * filled by the socket, with no copy through this buffer).
   */
  async readInto(into: Uint8Array, what: string): Promise<void> {
    const len = into.length;
    const have = Math.min(this.end - this.pos, len);
    if (have > 0) into.set(this.buf.subarray(this.pos, this.pos + have));
    this.pos += have;
    if (have === len) return;
    // The buffer is drained: read the rest directly, then restart the buffer
    // at the index that keeps it aligned with the stream offset mod 8.
    let off = have;
    const startOffset = this.#base + this.pos;
    while (off < len) {
      const got = await this.#link.read(into.subarray(off));
      if (got === null) {
        throw new RangeError(
          `Stream ended at offset ${startOffset + off - have} in the middle of ${what} (${
            len - off
          } more bytes expected)`,
        );
      }
      off += got;
      this.#checkLength(startOffset + off - have);
    }
    const next = startOffset + (len - have);
    this.pos = this.end = this.#crcPos = next & 7;
    this.#base = next - this.pos;
  }

  /** The CRC-32 of every stream byte read so far, page data left out (see the writer). */
  checksum(): number {
    if (this.pos > this.#crcPos) {
      this.#crc = crc32(this.buf.subarray(this.#crcPos, this.pos), this.#crc);
    }
    this.#crcPos = this.pos;
    return this.#crc;
  }

  /**
   * Reads the `crc:u32` that closes a section and checks it against the
   * bytes received; throws RangeError when the stream was corrupted.
   */
  async verifyChecksum(what: string): Promise<void> {
    const expected = this.checksum();
    await this.need(CRC_BYTES, `the checksum of ${what}`);
    const got = this.u32();
    if (got !== expected) {
      throw this.error(
        `Checksum of ${what} is 0x${hex32(got)} but the bytes received give 0x${
          hex32(expected)
        }: the stream was corrupted`,
        this.offset - CRC_BYTES,
      );
    }
  }

  /**
   * Reads a run of page data into `into` and its trailer, and sets bit `i` of
   * `mismatched` for each page `i` whose data does not match its CRC-32. A
   * mismatch is not an error by itself: the page may have changed while it
   * was sent (it is then dirty and sent again); the caller decides. Returns
   * how many pages mismatched.
   */
  async pageData(into: Uint8Array, what: string, mismatched: Uint8Array): Promise<number> {
    this.checksum();
    await this.readInto(into, what);
    this.#crcPos = this.pos;
    const pages = into.length / PAGE_SIZE;
    await this.need(CRC_BYTES * pages, `the page checksums of ${what}`);
    let bad = 0;
    for (let i = 0; i < pages; i++) {
      const ok = this.u32() === crc32(into.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
      mismatched[i] = ok ? 0 : 1;
      if (!ok) bad++;
    }
    return bad;
  }

  /** Skips the zero padding up to the next stream offset that is a multiple of 8; rejects non-zero padding. */
  async align8(what: string): Promise<void> {
    const pad = (8 - (this.offset & 7)) & 7;
    if (pad === 0) return;
    await this.need(pad, what);
    for (let i = 0; i < pad; i++) {
      if (this.buf[this.pos + i] !== 0) {
        throw this.error(`Padding byte ${i} before ${what} is not zero`, this.offset + i);
      }
    }
    this.pos += pad;
  }

  /** A RangeError saying what is wrong at `offset` (default: the current offset). */
  error(message: string, offset = this.offset): RangeError {
    return new RangeError(`${message} at stream offset ${offset}`);
  }

  /** Reads and checks the header. */
  async header(): Promise<void> {
    await this.need(HEADER_BYTES, "the stream header");
    const magic = this.u32();
    if (magic !== MAGIC) {
      throw this.error(`Bad magic 0x${magic.toString(16).padStart(8, "0")}, expected "FERY"`, 0);
    }
    const version = this.u16();
    if (version !== VERSION) {
      throw this.error(`Unsupported stream version ${version}, this reader knows ${VERSION}`, 4);
    }
    const flags = this.u16();
    if (flags !== 0) throw this.error(`Unknown header flags 0x${flags.toString(16)}`, 6);
  }

  /** Reads the body of a setup section (its type byte already read). */
  async setup(): Promise<StreamSetup> {
    await this.need(SETUP_HEAD_BYTES, "the setup section");
    const pageSizeAt = this.offset;
    const pageSize = this.u32();
    if (pageSize !== PAGE_SIZE) {
      throw this.error(`Page size ${pageSize} is not ${PAGE_SIZE}`, pageSizeAt);
    }
    const capabilities = this.u32();
    const countAt = this.offset;
    const count = this.u16();
    if (count < 1 || count > BLOCKS_MAX) {
      throw this.error(`Block count ${count} is not in 1..${BLOCKS_MAX}`, countAt);
    }
    const blocks: StreamBlock[] = [];
    let total = 0;
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const at = this.offset;
      await this.need(NAME_LEN_BYTES, "a block name length");
      const len = this.u8();
      if (len === 0) throw this.error(`Block ${i} has an empty name`, at);
      await this.need(len + BLOCK_PAGES_BYTES, "a block entry");
      const raw = this.buf.subarray(this.pos, this.pos + len);
      for (const c of raw) {
        if (c < 0x21 || c > 0x7e) {
          throw this.error(
            `Block ${i} name has a non-printable byte 0x${c.toString(16)}`,
            at + NAME_LEN_BYTES,
          );
        }
      }
      const name = new TextDecoder().decode(raw);
      this.pos += len;
      if (seen.has(name)) throw this.error(`Block name "${name}" appears twice`, at);
      seen.add(name);
      const pagesAt = this.offset;
      const pages = this.u32();
      if (pages < 1) throw this.error(`Block "${name}" has no pages`, pagesAt);
      total += pages * PAGE_SIZE;
      if (total > this.#maxRamBytes) {
        throw this.error(
          `Blocks total more than the ${this.#maxRamBytes} bytes this destination accepts`,
          pagesAt,
        );
      }
      blocks.push({ name, pages });
    }
    await this.need(PARAMS_LEN_BYTES, "the setup parameter length");
    const plenAt = this.offset;
    const plen = this.u16();
    if (plen > PARAMS_BYTES_MAX) {
      throw this.error(`Setup parameters of ${plen} bytes exceed ${PARAMS_BYTES_MAX}`, plenAt);
    }
    await this.need(plen, "the setup parameters");
    const params = this.buf.slice(this.pos, this.pos + plen);
    this.pos += plen;
    this.#blocks = blocks;
    return { pageSize, capabilities, blocks, params };
  }

  /** Resets addressing at the start of a RAM section. */
  ramBegin(): void {
    this.#lastBlock = -1;
    this.#nextPage = -1;
  }

  /**
   * Reads a record's flags and address (`RECORD_HEAD_BYTES_MAX` bytes must
   * be available or the stream must end first). Sets {@link block} and {@link page}; checks that
   * `pages` pages from there lie in the block once the caller knows the count
   * (see {@link checkRun}). Returns the kind; kind 0 (end of section) has no address.
   */
  async recordHead(): Promise<number> {
    this.recordOffset = this.offset;
    if (this.end - this.pos < RECORD_HEAD_BYTES_MAX) await this.need(1, "a page record");
    const flags = this.buf[this.pos++];
    const kind = flags & KIND_MASK;
    const addressing = flags & ADDR_MASK;
    if (flags & 0x20) {
      throw this.error(
        `Reserved flag bit set in record flags 0x${flags.toString(16)}`,
        this.recordOffset,
      );
    }
    if (kind === 0) {
      if (addressing !== 0) {
        throw this.error(
          `End-of-section record with addressing bits 0x${flags.toString(16)}`,
          this.recordOffset,
        );
      }
      return 0;
    }
    if (addressing === ADDR_NEXT) {
      if (this.#lastBlock < 0) {
        throw this.error(
          "Record addresses the next page but no page came before",
          this.recordOffset,
        );
      }
      this.block = this.#lastBlock;
      this.page = this.#nextPage;
    } else if (addressing === ADDR_BLOCK) {
      if (this.#lastBlock < 0) {
        throw this.error(
          "Record addresses the same block but no block came before",
          this.recordOffset,
        );
      }
      await this.need(ADDR_BLOCK_BYTES, "a record address");
      this.block = this.#lastBlock;
      this.page = this.u32();
    } else if (addressing === ADDR_FULL) {
      await this.need(ADDR_FULL_BYTES, "a record address");
      const block = this.u16();
      if (block >= this.#blocks.length) {
        throw this.error(
          `Block id ${block} is not declared (the setup declared ${this.#blocks.length})`,
          this.recordOffset + TYPE_BYTES,
        );
      }
      this.block = block;
      this.page = this.u32();
    } else {
      throw this.error(
        `Unknown addressing mode in record flags 0x${flags.toString(16)}`,
        this.recordOffset,
      );
    }
    this.#lastBlock = this.block;
    return kind;
  }

  /** Checks that `pages` pages from the last record head lie in its block, and advances the next-page address. */
  checkRun(pages: number): void {
    const b = this.#blocks[this.block];
    if (this.page >= b.pages || this.page + pages > b.pages) {
      throw this.error(
        `Page ${this.page}${
          pages > 1 ? `..${this.page + pages - 1}` : ""
        } is past the end of block "${b.name}" (${b.pages} pages)`,
        this.recordOffset,
      );
    }
    this.#nextPage = this.page + pages;
  }
}

function hex32(v: number): string {
  return (v >>> 0).toString(16).padStart(8, "0");
}
