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
import { pageAddress, type Ram } from "../guest/ram.ts";
import type { FaultPhase, KindCounters, Outcome } from "../contract/types.ts";
import {
  ABORT_LEN_BYTES,
  ACK_FAILED,
  ACK_LOADED,
  CAP_COMPRESS,
  CAP_HASH,
  CAP_XBZRLE,
  DEVICE_BYTES_MAX,
  DEVICE_HEAD_BYTES,
  DEVICE_LEN_BYTES,
  ROUND_BYTES,
  SECTION_ABORT,
  SECTION_DEVICE,
  SECTION_END,
  SECTION_RAM,
  SECTION_SETUP,
  TYPE_BYTES,
} from "../stream/format.ts";
import { StreamReader, type StreamSetup } from "../stream/reader.ts";
import { writeAck } from "../stream/ack.ts";
import {
  writeBeat,
  writePageRequest,
  writeSectionDone,
  writeSummary,
} from "../stream/return_path.ts";
import type { HeldCheckpoint } from "./checkpoint_index.ts";
import { type DestinationHashRecord, HashDedupDestination } from "./hash_dedup.ts";
import { KindStats } from "./stats.ts";
import type { CompressMethod } from "./compress.ts";
import { decodeSetupParams } from "../stream/params.ts";
import { RamLoader } from "./ram_loader.ts";
import { printable } from "../util/printable.ts";

/** Capability bits this destination reads. */
const KNOWN_CAPS = CAP_XBZRLE | CAP_COMPRESS | CAP_HASH;

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
  /**
   * Capability HASH: the checkpoint's index, or why there is none (a
   * missing or unusable file: the migration falls back to plain precopy).
   */
  checkpoint?: HeldCheckpoint;
  hooks?: { phase?(phase: FaultPhase, round: number): Promise<void> | void };
  /** Longest stream accepted, in bytes (default: no bound); see `streamBytesBound`. */
  maxStreamBytes?: number;
  /** The stream reader's buffer, reused across loads (default: a fresh 4 MiB one). */
  readBuffer?: Uint8Array;
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
  /** Capability HASH's counters (absent when the source did not ask for it). */
  hash?: DestinationHashRecord;
}

/** Runs the destination side of one migration. Never throws. */
export async function runDestination(options: DestinationOptions): Promise<DestinationReport> {
  const { link, clock, hooks = {} } = options;
  const r = new StreamReader(link, {
    maxRamBytes: options.maxRamBytes,
    buffer: options.readBuffer,
    maxStreamBytes: options.maxStreamBytes,
  });
  const stats = new KindStats();
  let ram: Ram | null = null;
  let firstByteAtMs: number | null = null;
  let loadedAtMs: number | null = null;
  let rounds = 0;
  let outcome: Outcome = "failed";
  let error: string | undefined;
  let loader: RamLoader | null = null;
  let hash: HashDedupDestination | null = null;
  let fallback: string | null = null;
  try {
    await r.header();
    firstByteAtMs = clock.nowMs();
    await r.need(TYPE_BYTES, "the setup section");
    const first = r.u8();
    if (first !== SECTION_SETUP) {
      throw r.error(
        `Expected the setup section (0x01), got 0x${first.toString(16)}`,
        r.offset - TYPE_BYTES,
      );
    }
    const setup = await r.setup();
    if ((setup.capabilities & ~KNOWN_CAPS) !== 0) {
      throw r.error(
        `Setup asks for capabilities 0x${
          ((setup.capabilities & ~KNOWN_CAPS) >>> 0).toString(16)
        } this destination does not have`,
      );
    }
    let params;
    try {
      params = decodeSetupParams(setup.params);
    } catch (e) {
      throw r.error(`Setup parameters rejected: ${(e as Error).message}`);
    }
    let compress: CompressMethod | null = null;
    if (setup.capabilities & CAP_COMPRESS) {
      if (!params.compressMethod) {
        throw r.error("Setup asks for compression but names no compressMethod");
      }
      compress = params.compressMethod;
    }
    ram = options.createRam(setup);
    if (setup.capabilities & CAP_HASH) {
      if (setup.capabilities & CAP_XBZRLE) {
        throw r.error("Setup asks for HASH and XBZRLE records together, which cannot be combined");
      }
      const ck = options.checkpoint ??
        { index: null, reason: "the destination holds no checkpoint" };
      fallback = ck.index ? null : ck.reason ?? "the destination holds no checkpoint";
      hash = new HashDedupDestination(ram, ck.index, clock);
      stats.reportHash = true;
      await writeSummary(link, fallback ?? "", ck.index ? ck.index.prefixes() : new Uint32Array(0));
    }
    loader = new RamLoader(ram, {
      stats,
      clock,
      xbzrle: (setup.capabilities & CAP_XBZRLE) !== 0,
      compress,
      hash,
      requestPage: (block, page) => writePageRequest(link, block, page),
      beat: () => writeBeat(link),
    });
    let lastRound = -1;
    let sawDevice = false;
    for (;;) {
      const at = r.offset;
      await r.need(TYPE_BYTES, "a section type");
      const type = r.u8();
      if (type === SECTION_RAM) {
        if (sawDevice) throw r.error("RAM section after the device state", at);
        await r.need(ROUND_BYTES, "the RAM section round");
        const round = r.u32();
        if (round < lastRound) {
          throw r.error(`RAM section for round ${round} after round ${lastRound}`, at + TYPE_BYTES);
        }
        if (round !== lastRound) await hooks.phase?.(round === 0 ? "bulk" : "round", round);
        lastRound = round;
        rounds = round;
        r.ramBegin();
        await loader.loadSection(r);
        if (hash) await writeSectionDone(link, round);
      } else if (type === SECTION_DEVICE) {
        if (sawDevice) throw r.error("A second device-state section", at);
        await hooks.phase?.("device-state", lastRound);
        await r.need(DEVICE_LEN_BYTES, "the device-state length");
        const len = r.u32();
        if (len > DEVICE_BYTES_MAX) {
          throw r.error(
            `Device state of ${len} bytes exceeds ${DEVICE_BYTES_MAX}`,
            at + TYPE_BYTES,
          );
        }
        await r.need(len, "the device state");
        const state = r.buf.slice(r.pos, r.pos + len);
        r.pos += len;
        await r.verifyChecksum("the device state");
        try {
          await options.loadDevice(state);
        } catch (e) {
          throw r.error(`Device state rejected: ${(e as Error).message}`, at + DEVICE_HEAD_BYTES);
        }
        sawDevice = true;
      } else if (type === SECTION_END) {
        if (!sawDevice) throw r.error("End of stream before the device state", at);
        await r.verifyChecksum("the stream");
        // Hashes never resolved and pages never sent in full since (hash_dedup.ts).
        const wanted = hash?.wanted.count() ?? 0;
        if (wanted > 0) {
          throw r.error(
            `${wanted} page(s) sent as a hash this destination could not resolve were never sent in full, the first at ${
              pageAddress(ram, hash!.wanted.next(0))
            }`,
            at,
          );
        }
        // Torn pages never sent again (ram_loader.ts).
        const bad = loader.suspect.count();
        if (bad > 0) {
          throw r.error(
            `${bad} page(s) failed their checksum and were not sent again, the first at ${
              pageAddress(ram, loader.suspect.next(0))
            }`,
            at,
          );
        }
        break;
      } else if (type === SECTION_ABORT) {
        await r.need(ABORT_LEN_BYTES, "the abort reason length");
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
    await writeAck(link, { status: ACK_LOADED, message: "loaded" });
  } catch (e) {
    if (e instanceof SourceAborted) {
      outcome = e.message.startsWith("Did not converge") || e.message.startsWith("cancel")
        ? "cancelled"
        : "failed";
      error = `Source aborted the migration: ${printable(e.message)}`;
    } else {
      outcome = "failed";
      error = (e as Error).message;
      try {
        await writeAck(link, { status: ACK_FAILED, message: error });
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
    decompressMs: loader?.decompressMs ?? 0,
    ...(hash ? { hash: hash.record(fallback, options.checkpoint?.indexMs ?? null) } : {}),
  };
}

class SourceAborted extends Error {}
