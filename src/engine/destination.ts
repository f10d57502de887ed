/**
 * The destination side: loads the stream into fresh guest RAM, treating every
 * byte as hostile (the reader checks addresses and lengths; this file checks
 * section order, record kinds against the negotiated capabilities, and device
 * state), then acks on the return path. A bad stream ends in a failed report
 * whose error says what and at which offset, never a crash or a hang.
 *
 * @example
 * ```ts ignore
 * const report = await runDestination({ link, clock: systemClock, createRam, loadDevice });
 * if (report.outcome === "completed") resumeGuest(report.ram);
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Link } from "../net/link.ts";
import { PAGE_SIZE, pageAddress, type Ram } from "../guest/ram.ts";
import type { FaultPhase, KindCounters, Outcome } from "../contract/types.ts";
import {
  ACK_FAILED,
  ACK_LOADED,
  CAP_COMPRESS,
  CAP_XBZRLE,
  DEVICE_BYTES_MAX,
  KIND_DEFLATE,
  KIND_NAMES,
  KIND_NORMAL,
  KIND_XBZRLE,
  KIND_ZERO,
  RP_ACK,
  RUN_PAGES_MAX,
  SECTION_ABORT,
  SECTION_DEVICE,
  SECTION_END,
  SECTION_RAM,
  SECTION_SETUP,
} from "../stream/format.ts";
import { StreamReader, type StreamSetup } from "../stream/reader.ts";
import { isZeroPage, PAGE_WORDS } from "./zero_page.ts";
import { DirtyBitmap } from "../guest/dirty_log.ts";
import { K_DEFLATE, K_NORMAL, K_XBZRLE, K_ZERO, KindStats } from "./stats.ts";
import { decodeXbzrle } from "./xbzrle.ts";
import { type CompressMethod, decompressPages } from "./compress.ts";
import { decodeSetupParams } from "../stream/params.ts";

/** Capability bits this destination reads. */
const KNOWN_CAPS = CAP_XBZRLE | CAP_COMPRESS;

/** Destination engine options. */
export interface DestinationOptions {
  link: Link;
  clock: Clock;
  /** Allocates guest RAM for the blocks the setup section declares; it must be all zero. */
  createRam(setup: StreamSetup): Ram;
  /** Checks and applies the device state; throws TypeError/RangeError when it is malformed. */
  loadDevice(state: Uint8Array): void | Promise<void>;
  /** Largest guest accepted, in bytes. */
  maxRamBytes?: number;
  hooks?: { phase?(phase: FaultPhase, round: number): Promise<void> | void };
}

/** What the destination reports. */
export interface DestinationReport {
  outcome: Outcome;
  error?: string;
  ram: Ram | null;
  firstByteAtMs: number | null;
  /** When everything was loaded and the guest could resume. */
  loadedAtMs: number | null;
  rounds: number;
  receivedBytes: number;
  pages: KindCounters;
  bytes: KindCounters;
  /** Clock milliseconds spent decompressing DEFLATE records (0 without compress). */
  decompressMs?: number;
}

/** What the setup section negotiated, for the record loader. */
interface Negotiated {
  xbzrle: boolean;
  compress: CompressMethod | null;
  decompressMs: number;
}

/** Runs the destination side of one migration. Never throws. */
export async function runDestination(options: DestinationOptions): Promise<DestinationReport> {
  const { link, clock, hooks = {} } = options;
  const r = new StreamReader(link, { maxRamBytes: options.maxRamBytes });
  const stats = new KindStats();
  let ram: Ram | null = null;
  let firstByteAtMs: number | null = null;
  let loadedAtMs: number | null = null;
  let rounds = 0;
  let outcome: Outcome = "failed";
  let error: string | undefined;
  const neg: Negotiated = { xbzrle: false, compress: null, decompressMs: 0 };
  try {
    await r.header();
    firstByteAtMs = clock.nowMs();
    await r.need(1, "the setup section");
    const first = r.u8();
    if (first !== SECTION_SETUP) {
      throw r.error(`Expected the setup section (0x01), got 0x${first.toString(16)}`, r.offset - 1);
    }
    const setup = await r.setup();
    if ((setup.capabilities & ~KNOWN_CAPS) !== 0) {
      throw r.error(
        `Setup asks for capabilities 0x${
          (setup.capabilities & ~KNOWN_CAPS).toString(16)
        } this destination does not have`,
      );
    }
    let params;
    try {
      params = decodeSetupParams(setup.params);
    } catch (e) {
      throw r.error(`Setup parameters rejected: ${(e as Error).message}`);
    }
    neg.xbzrle = (setup.capabilities & CAP_XBZRLE) !== 0;
    if (setup.capabilities & CAP_COMPRESS) {
      if (!params.compressMethod) {
        throw r.error("Setup asks for compression but names no compressMethod");
      }
      neg.compress = params.compressMethod;
    }
    ram = options.createRam(setup);
    const words = ram.blocks.map((b) => new Int32Array(b.sab, 0, b.bytes.length >> 2));
    const written = new DirtyBitmap(ram.totalPages); // pages this stream has put data in
    const suspect = new DirtyBitmap(ram.totalPages); // pages whose last data failed its checksum
    let lastRound = -1;
    let sawDevice = false;
    for (;;) {
      const at = r.offset;
      await r.need(1, "a section type");
      const type = r.u8();
      if (type === SECTION_RAM) {
        if (sawDevice) throw r.error("RAM section after the device state", at);
        await r.need(4, "the RAM section round");
        const round = r.u32();
        if (round < lastRound) {
          throw r.error(`RAM section for round ${round} after round ${lastRound}`, at + 1);
        }
        if (round !== lastRound) await hooks.phase?.(round === 0 ? "bulk" : "round", round);
        lastRound = round;
        rounds = round;
        r.ramBegin();
        await loadRam(r, ram, { words, written, suspect, stats, neg, clock });
      } else if (type === SECTION_DEVICE) {
        if (sawDevice) throw r.error("A second device-state section", at);
        await hooks.phase?.("device-state", lastRound);
        await r.need(4, "the device-state length");
        const len = r.u32();
        if (len > DEVICE_BYTES_MAX) {
          throw r.error(`Device state of ${len} bytes exceeds ${DEVICE_BYTES_MAX}`, at + 1);
        }
        await r.need(len, "the device state");
        const state = r.buf.slice(r.pos, r.pos + len);
        r.pos += len;
        await r.verifyChecksum("the device state");
        try {
          await options.loadDevice(state);
        } catch (e) {
          throw r.error(`Device state rejected: ${(e as Error).message}`, at + 5);
        }
        sawDevice = true;
      } else if (type === SECTION_END) {
        if (!sawDevice) throw r.error("End of stream before the device state", at);
        await r.verifyChecksum("the stream");
        const bad = suspect.count();
        if (bad > 0) {
          throw r.error(
            `${bad} page(s) failed their checksum and were not sent again, the first at ${
              pageAddress(ram, suspect.next(0))
            }`,
            at,
          );
        }
        break;
      } else if (type === SECTION_ABORT) {
        await r.need(2, "the abort reason length");
        const len = r.u16();
        await r.need(len, "the abort reason");
        const reason = new TextDecoder().decode(r.buf.subarray(r.pos, r.pos + len));
        r.pos += len;
        throw new SourceAborted(reason);
      } else if (type === SECTION_SETUP) {
        throw r.error("A second setup section", at);
      } else {
        throw r.error(`Unknown section type 0x${type.toString(16)}`, at);
      }
    }
    loadedAtMs = clock.nowMs();
    outcome = "completed";
    await sendAck(link, ACK_LOADED, "loaded");
  } catch (e) {
    if (e instanceof SourceAborted) {
      outcome = e.message.startsWith("Did not converge") || e.message.startsWith("cancel")
        ? "cancelled"
        : "failed";
      error = `Source aborted the migration: ${e.message}`;
    } else {
      outcome = "failed";
      error = (e as Error).message;
      try {
        await sendAck(link, ACK_FAILED, error);
      } catch {
        // the source is gone
      }
    }
  } finally {
    link.close();
  }
  const snap = stats.snapshot();
  return {
    outcome,
    error,
    ram: outcome === "completed" ? ram : null,
    firstByteAtMs,
    loadedAtMs,
    rounds,
    receivedBytes: r.received,
    pages: snap.pages,
    bytes: snap.bytes,
    decompressMs: neg.decompressMs,
  };
}

class SourceAborted extends Error {}

/** Loads the records of one RAM section, up to and including its end record. */
async function loadRam(
  r: StreamReader,
  ram: Ram,
  ctx: {
    words: Int32Array[];
    written: DirtyBitmap;
    /** Pages whose last full copy failed its checksum (see stream.md). */
    suspect: DirtyBitmap;
    stats: KindStats;
    neg: Negotiated;
    clock: Clock;
  },
): Promise<void> {
  const { words, written, suspect, stats, neg } = ctx;
  const mismatched = new Uint8Array(RUN_PAGES_MAX);
  const blocks = ram.blocks;
  for (;;) {
    const at = r.offset;
    const kind = await r.recordHead();
    if (kind === 0) return await r.verifyChecksum("the RAM section");
    const b = blocks[r.block];
    switch (kind) {
      case KIND_ZERO: {
        r.checkRun(1);
        // RAM starts zero: only a page this stream wrote can need clearing.
        const g = b.firstPage + r.page;
        suspect.clear(g);
        if (written.has(g) && !isZeroPage(words[r.block], r.page * PAGE_WORDS)) {
          const off = r.page * PAGE_SIZE;
          b.bytes.fill(0, off, off + PAGE_SIZE);
        }
        stats.pages[K_ZERO]++;
        stats.bytes[K_ZERO] += r.offset - at;
        break;
      }
      case KIND_NORMAL: {
        await r.need(2, "a normal-page count");
        const count = r.u16();
        if (count < 1 || count > RUN_PAGES_MAX) {
          throw r.error(`Normal record count ${count} is not in 1..${RUN_PAGES_MAX}`, at);
        }
        r.checkRun(count);
        await r.align8("normal page data");
        const off = r.page * PAGE_SIZE;
        const bad = await r.pageData(
          b.bytes.subarray(off, off + count * PAGE_SIZE),
          "normal page data",
          mismatched,
        );
        for (let i = 0, g = b.firstPage + r.page; i < count; i++, g++) {
          written.set(g);
          if (bad > 0 && mismatched[i]) suspect.set(g);
          else suspect.clear(g);
        }
        stats.pages[K_NORMAL] += count;
        stats.bytes[K_NORMAL] += r.offset - at;
        break;
      }
      case KIND_XBZRLE: {
        if (!neg.xbzrle) throw notNegotiated(r, kind, at);
        await r.need(2, "an XBZRLE length");
        const len = r.u16();
        if (len < 1 || len > PAGE_SIZE) {
          throw r.error(`XBZRLE record length ${len} is not in 1..${PAGE_SIZE}`, at);
        }
        r.checkRun(1);
        await r.need(len, "XBZRLE data");
        const off = r.page * PAGE_SIZE;
        try {
          decodeXbzrle(r.buf.subarray(r.pos, r.pos + len), b.bytes.subarray(off, off + PAGE_SIZE));
        } catch (e) {
          throw r.error(
            `${(e as Error).message}, in the record for page ${r.page} of block "${b.name}"`,
            at,
          );
        }
        r.pos += len;
        // A delta on a suspect copy stays suspect: only a full page clears it.
        written.set(b.firstPage + r.page);
        stats.pages[K_XBZRLE]++;
        stats.bytes[K_XBZRLE] += r.offset - at;
        break;
      }
      case KIND_DEFLATE: {
        if (!neg.compress) throw notNegotiated(r, kind, at);
        await r.need(6, "a compressed-record head");
        const count = r.u16();
        const len = r.u32();
        if (count < 1 || count > RUN_PAGES_MAX) {
          throw r.error(`Compressed record count ${count} is not in 1..${RUN_PAGES_MAX}`, at);
        }
        r.checkRun(count);
        if (len < 1 || len >= count * PAGE_SIZE) {
          throw r.error(
            `Compressed record length ${len} is not in 1..${
              count * PAGE_SIZE - 1
            } for ${count} pages`,
            at,
          );
        }
        await r.need(len, "compressed page data");
        const off = r.page * PAGE_SIZE;
        const t = ctx.clock.nowMs();
        try {
          decompressPages(
            neg.compress,
            r.buf.subarray(r.pos, r.pos + len),
            b.bytes.subarray(off, off + count * PAGE_SIZE),
          );
        } catch (e) {
          throw r.error(
            `${(e as Error).message}, in the compressed record for pages ${r.page}..${
              r.page + count - 1
            } of block "${b.name}"`,
            at,
          );
        }
        neg.decompressMs += ctx.clock.nowMs() - t;
        r.pos += len;
        // Full pages, under the section checksum: each clears an earlier suspect copy.
        for (let i = 0, g = b.firstPage + r.page; i < count; i++, g++) {
          written.set(g);
          suspect.clear(g);
        }
        stats.pages[K_DEFLATE] += count;
        stats.bytes[K_DEFLATE] += r.offset - at;
        break;
      }
      default:
        throw notNegotiated(r, kind, at);
    }
  }
}

function notNegotiated(r: StreamReader, kind: number, at: number): RangeError {
  return r.error(
    `Record kind ${kind} (${
      KIND_NAMES[kind] ?? "unknown"
    }) is not allowed by the negotiated capabilities`,
    at,
  );
}

async function sendAck(link: Link, status: number, message: string): Promise<void> {
  const m = new TextEncoder().encode(message).subarray(0, 1024);
  const out = new Uint8Array(4 + m.length);
  out[0] = RP_ACK;
  out[1] = status;
  out[2] = m.length >> 8;
  out[3] = m.length & 0xff;
  out.set(m, 4);
  await link.write(out);
}
