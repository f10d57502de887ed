/**
 * Writes the migration stream (grammar in format.ts) into large buffers and
 * hands them to the link, double-buffered: one buffer is on the wire while the
 * next fills. Page records are written with the shortest addressing the
 * previous record allows.
 *
 * Hot path: the `ensure`/`u8`/`pageData` calls are synchronous; only a flush
 * awaits, once per buffer.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { StreamWriter } from "./writer.ts";
 * const [a, b] = memoryLinkPair();
 * const w = new StreamWriter(a);
 * w.header();
 * const done = w.finish();
 * await b.read(new Uint8Array(64));
 * await done;
 * ```
 * @module
 */
import { crc32 } from "node:zlib";
import type { Link } from "../net/link.ts";
import { PAGE_SIZE } from "../contract/page.ts";
import {
  ABORT_HEAD_BYTES,
  ADDR_BLOCK,
  ADDR_FULL,
  ADDR_NEXT,
  BLOCK_PAGES_BYTES,
  CRC_BYTES,
  DEVICE_HEAD_BYTES,
  END_BYTES,
  EOS_BYTES,
  HEADER_BYTES,
  KIND_EOS,
  MAGIC,
  MESSAGE_BYTES_MAX,
  NAME_LEN_BYTES,
  PARAMS_LEN_BYTES,
  RAM_HEAD_BYTES,
  RUN_PAGES_MAX,
  SECTION_ABORT,
  SECTION_DEVICE,
  SECTION_END,
  SECTION_RAM,
  SECTION_SETUP,
  SETUP_HEAD_BYTES,
  TYPE_BYTES,
  VERSION,
} from "./format.ts";

/** Called before each buffer goes on the wire, with its size; may delay (rate limit) or throw (cancel). */
export type FlushGate = (bytes: number) => Promise<void> | void;

/** Stream writer options. */
export interface StreamWriterOptions {
  /** Size of each of the two buffers (default 1 MiB). */
  bufferBytes?: number;
  /** Awaited before each buffer is sent. */
  gate?: FlushGate;
}

/** Buffered, double-buffered stream writer with page-record addressing. */
export class StreamWriter {
  #link: Link;
  #bufs: [Uint8Array, Uint8Array];
  #views: [DataView, DataView];
  #cur = 0;
  /** The buffer being filled. */
  buf: Uint8Array;
  /** A DataView over {@link buf}. */
  view: DataView;
  /** Write position in {@link buf}. */
  pos = 0;
  /** Where the current buffer's bytes begin: the stream offset mod 8, so buffer index and stream offset agree mod 8. */
  #start = 0;
  #flushed = 0;
  #inflight: Promise<void> | null = null;
  #gate?: FlushGate;
  #lastBlock = -1;
  #nextPage = -1;
  #inRam = false;
  /** CRC-32 of every stream byte before `buf[#crcPos]`. */
  #crc = 0;
  #crcPos = 0;
  #pageCrcs = new Uint32Array(RUN_PAGES_MAX);
  /** Where the last record head began in the current buffer. */
  #headAt = -1;

  /** Creates a writer on `link`. */
  constructor(link: Link, options: StreamWriterOptions = {}) {
    const size = options.bufferBytes ?? 1024 * 1024;
    this.#link = link;
    this.#bufs = [new Uint8Array(size), new Uint8Array(size)];
    this.#views = [new DataView(this.#bufs[0].buffer), new DataView(this.#bufs[1].buffer)];
    this.buf = this.#bufs[0];
    this.view = this.#views[0];
    this.#gate = options.gate;
  }

  /** Bytes handed to the link so far plus bytes buffered: the stream offset. */
  get offset(): number {
    return this.#flushed + this.pos - this.#start;
  }

  /** Space left in the current buffer. */
  get free(): number {
    return this.buf.length - this.pos;
  }

  /** Capacity of one buffer. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Ensures `n` bytes of room, flushing when needed. */
  async ensure(n: number): Promise<void> {
    if (this.buf.length - this.pos >= n) return;
    if (n > this.buf.length) {
      throw new RangeError(`A record of ${n} bytes exceeds the stream buffer`);
    }
    await this.flush();
  }

  /** Sends the current buffer (after the previous one finished) and switches buffers. */
  async flush(): Promise<void> {
    if (this.pos === this.#start) return;
    if (this.#gate) await this.#gate(this.pos - this.#start);
    await this.#send();
  }

  async #send(): Promise<void> {
    if (this.pos === this.#start) return;
    this.checksum();
    const n = this.pos - this.#start;
    const prev = this.#inflight;
    if (prev) await prev;
    const out = this.buf.subarray(this.#start, this.pos);
    const p = this.#link.write(out);
    p.catch(() => {}); // seen when awaited; never an unhandled rejection meanwhile
    this.#inflight = p;
    this.#flushed += n;
    this.#cur ^= 1;
    this.buf = this.#bufs[this.#cur];
    this.view = this.#views[this.#cur];
    this.#start = this.#flushed & 7;
    this.pos = this.#crcPos = this.#start;
    this.#headAt = -1;
  }

  /** The CRC-32 of every stream byte written so far (buffered ones included). */
  checksum(): number {
    if (this.pos > this.#crcPos) {
      this.#crc = crc32(this.buf.subarray(this.#crcPos, this.pos), this.#crc);
    }
    this.#crcPos = this.pos;
    return this.#crc;
  }

  /**
   * Writes a run of page data and its trailer (`crc:u32` per page, the
   * CRC-32 of each page): copied into the buffer, or with `direct` sent from
   * where it is. Page data is left out of the running checksum: the trailer
   * covers it, computed from `data` before it goes out. Returns bytes
   * written (data and trailer).
   */
  async pageData(data: Uint8Array, direct: boolean): Promise<number> {
    const pages = data.length / PAGE_SIZE;
    const crcs = this.#pageCrcs;
    for (let i = 0; i < pages; i++) {
      crcs[i] = crc32(data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    }
    if (direct) await this.direct(data);
    else {
      this.checksum();
      this.copy(data, 0, data.length);
      this.#crcPos = this.pos;
    }
    await this.ensure(CRC_BYTES * pages);
    for (let i = 0; i < pages; i++) this.u32(crcs[i]);
    return data.length + CRC_BYTES * pages;
  }

  /**
   * Sends `data` straight to the link after what is buffered, without copying
   * it (guest RAM goes to the socket as it is). `data.length` must keep the
   * stream 8-aligned if the caller relies on alignment afterwards. `data` is
   * the payload of the record whose head was written last: if the gate
   * refuses, that head is taken back.
   */
  async direct(data: Uint8Array): Promise<void> {
    // One gate for the buffered bytes (they end with this data's record head)
    // and the data: when it refuses (cancel), the head is dropped unsent, so
    // that an abort section still follows a whole record.
    if (this.#gate) {
      try {
        await this.#gate(this.pos - this.#start + data.length);
      } catch (e) {
        if (this.#headAt >= this.#start) this.pos = this.#headAt;
        throw e;
      }
    }
    await this.#send();
    const prev = this.#inflight;
    if (prev) await prev;
    const p = this.#link.write(data);
    p.catch(() => {});
    this.#inflight = p;
    this.#flushed += data.length;
    this.#start = this.#flushed & 7;
    this.pos = this.#crcPos = this.#start;
    this.#headAt = -1;
  }

  /** Flushes and waits until everything is on the link. */
  async finish(): Promise<void> {
    await this.flush();
    const p = this.#inflight;
    this.#inflight = null;
    if (p) await p;
  }

  /** Writes one byte (room must have been ensured). */
  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  /** Writes a big-endian u16. */
  u16(v: number): void {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  /** Writes a big-endian u32. */
  u32(v: number): void {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  /** Copies `len` bytes of `src` from `off`. */
  copy(src: Uint8Array, off: number, len: number): void {
    this.buf.set(len === src.length && off === 0 ? src : src.subarray(off, off + len), this.pos);
    this.pos += len;
  }

  /**
   * Writes zero bytes up to the next stream offset that is a multiple of 8
   * (room for `PAD_BYTES_MAX` must have been ensured); returns how many. Page data starts
   * aligned so that copies to and from guest RAM run a word at a time.
   */
  align8(): number {
    const pad = (8 - (this.pos & 7)) & 7;
    for (let i = 0; i < pad; i++) this.buf[this.pos++] = 0;
    return pad;
  }

  /** Writes the stream header. */
  header(): void {
    this.view.setUint32(this.pos, MAGIC);
    this.view.setUint16(this.pos + 4, VERSION);
    this.view.setUint16(this.pos + 6, 0);
    this.pos += HEADER_BYTES;
  }

  /** Writes a setup section; returns its length. */
  async setup(options: {
    pageSize: number;
    capabilities: number;
    blocks: { name: string; pages: number }[];
    params: Uint8Array;
  }): Promise<number> {
    const names = options.blocks.map((b) => new TextEncoder().encode(b.name));
    const bytes = TYPE_BYTES + SETUP_HEAD_BYTES +
      names.reduce((a, n) => a + NAME_LEN_BYTES + n.length + BLOCK_PAGES_BYTES, 0) +
      PARAMS_LEN_BYTES + options.params.length;
    await this.ensure(bytes);
    this.u8(SECTION_SETUP);
    this.u32(options.pageSize);
    this.u32(options.capabilities);
    this.u16(options.blocks.length);
    options.blocks.forEach((b, i) => {
      this.u8(names[i].length);
      this.copy(names[i], 0, names[i].length);
      this.u32(b.pages);
    });
    this.u16(options.params.length);
    this.copy(options.params, 0, options.params.length);
    return bytes;
  }

  /** Opens a RAM section for `round`; returns the bytes written. */
  async ramBegin(round: number): Promise<number> {
    await this.ensure(RAM_HEAD_BYTES);
    this.u8(SECTION_RAM);
    this.u32(round);
    this.#lastBlock = -1;
    this.#nextPage = -1;
    this.#inRam = true;
    return RAM_HEAD_BYTES;
  }

  /** Closes a RAM section (the end-of-section record); returns the bytes written. */
  async ramEnd(): Promise<number> {
    await this.ensure(EOS_BYTES);
    this.u8(KIND_EOS);
    this.u32(this.checksum());
    this.#inRam = false;
    return EOS_BYTES;
  }

  /**
   * Writes a record's flags and address for `pages` pages starting at `page`
   * of `block` (room for `RECORD_HEAD_BYTES_MAX` must have been ensured);
   * returns bytes written. The typed record writers in records.ts call it.
   */
  recordHead(kind: number, block: number, page: number, pages: number): number {
    const start = this.pos;
    this.#headAt = start;
    if (block === this.#lastBlock) {
      if (page === this.#nextPage) {
        this.buf[this.pos++] = kind | ADDR_NEXT;
      } else {
        this.buf[this.pos++] = kind | ADDR_BLOCK;
        this.u32(page);
      }
    } else {
      this.buf[this.pos++] = kind | ADDR_FULL;
      this.u16(block);
      this.u32(page);
      this.#lastBlock = block;
    }
    this.#nextPage = page + pages;
    return this.pos - start;
  }

  /** Writes the device-state section; returns its length. */
  async device(state: Uint8Array): Promise<number> {
    await this.ensure(DEVICE_HEAD_BYTES);
    this.u8(SECTION_DEVICE);
    this.u32(state.length);
    let off = 0;
    while (off < state.length) {
      if (this.free === 0) await this.flush();
      const n = Math.min(this.free, state.length - off);
      this.copy(state, off, n);
      off += n;
    }
    await this.ensure(CRC_BYTES);
    this.u32(this.checksum());
    return DEVICE_HEAD_BYTES + state.length + CRC_BYTES;
  }

  /** Writes the end section; returns its length. */
  async end(): Promise<number> {
    await this.ensure(END_BYTES);
    this.u8(SECTION_END);
    this.u32(this.checksum());
    return END_BYTES;
  }

  /**
   * Ends the stream with an abort section after a failure or cancel: closes an
   * open RAM section first, skips the gate, and sends what is buffered (every
   * buffer ends on a record boundary).
   */
  async abortQuietly(reason: string): Promise<void> {
    this.#gate = undefined;
    if (this.#inRam) await this.ramEnd();
    await this.abort(reason);
    await this.finish();
  }

  /** Writes an abort section with a reason. */
  async abort(reason: string): Promise<void> {
    const r = new TextEncoder().encode(reason).subarray(0, MESSAGE_BYTES_MAX);
    await this.ensure(ABORT_HEAD_BYTES + r.length);
    this.u8(SECTION_ABORT);
    this.u16(r.length);
    this.copy(r, 0, r.length);
  }
}
