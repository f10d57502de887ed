/**
 * The file end of a migration to a file: it takes the source's stream from
 * the link, as a destination would, and puts it in a file through a
 * {@link FilePort}, then acks on the return path once the file is whole.
 * The source engine is unchanged: the page choice (which pages go, zero or
 * full) stays in ram_sender.ts, and the sink is where they land.
 *
 * - `mapped` (capability `mappedRam`, QEMU's mapped-ram): each full page is
 *   written at its fixed offset in a mapped-ram file (stream/mapped_ram_writer.ts),
 *   in place when it comes again; a zero page clears its bit and is not
 *   written (the file stays sparse); the device state and the end record
 *   close the file. The file never grows past the RAM and its metadata.
 * - `stream`: every stream byte is appended to the file as it comes, as
 *   QEMU's `file:` migration without mapped-ram does; it grows with each round.
 *   Restoring reads it back through the destination engine.
 *
 * Either way the stream is read as hostile (stream/reader.ts): only ZERO and
 * NORMAL records are accepted in `mapped` (a page encoder's record cannot be
 * placed), a page whose CRC-32 mismatched must be sent again before the end,
 * and a source abort or any error leaves a file that is not valid (no end
 * record), acked as failed. A write the file refuses (a full disk, an I/O
 * error) fails the migration with the device's words; the source guest runs on.
 *
 * @example
 * ```ts ignore
 * const [a, b] = memoryLinkPair();
 * const [src, sink] = await Promise.all([
 *   runSource({ guest, link: a, clock, config }),
 *   runFileSink({ link: b, clock, file, layout: "mapped" }),
 * ]);
 * console.log(sink.outcome, sink.file?.pagesRewritten);
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Link } from "../net/link.ts";
import type { FilePort } from "../contract/ports.ts";
import type { Outcome } from "../contract/types.ts";
import { PAGE_SIZE } from "../guest/ram.ts";
import {
  ABORT_LEN_BYTES,
  ACK_FAILED,
  ACK_LOADED,
  CAP_COMPRESS,
  CAP_XBZRLE,
  COUNT_BYTES,
  DEFLATE_HEAD_BYTES,
  DEVICE_BYTES_MAX,
  DEVICE_LEN_BYTES,
  KIND_DEFLATE,
  KIND_NAMES,
  KIND_NORMAL,
  KIND_XBZRLE,
  KIND_ZERO,
  ROUND_BYTES,
  RUN_PAGES_MAX,
  SECTION_ABORT,
  SECTION_DEVICE,
  SECTION_END,
  SECTION_RAM,
  SECTION_SETUP,
  TYPE_BYTES,
  XBZRLE_LEN_BYTES,
} from "../stream/format.ts";
import { StreamReader } from "../stream/reader.ts";
import { writeAck } from "../stream/ack.ts";
import { MappedRamWriter } from "../stream/mapped_ram_writer.ts";

/** How the sink lays the file out. */
export type FileLayout = "mapped" | "stream";

/** File sink options. */
export interface FileSinkOptions {
  link: Link;
  clock: Clock;
  file: FilePort;
  layout: FileLayout;
  /** Largest guest accepted, in bytes. */
  maxRamBytes?: number;
}

/** The file's figures. */
export interface FileSinkFigures {
  /** The file's size once written (its logical size; zero pages are holes). */
  sizeBytes: number;
  /** Bytes written to the file, rewrites and metadata included. */
  writtenBytes: number;
  /** Page writes that overwrote a copy already in the file (0 for a stream file). */
  pagesRewritten: number;
}

/** What the sink reports. */
export interface FileSinkReport {
  outcome: Outcome;
  error?: string;
  /** When the file was whole (its end record synced). */
  savedAtMs: number | null;
  /** The file's figures; null when nothing was written. */
  file: FileSinkFigures | null;
  /** Stream bytes the sink received. */
  receivedBytes: number;
}

class SourceAborted extends Error {}

/**
 * A link that appends every byte read from `inner` to `file` (the `stream`
 * layout); a failed append fails the read.
 */
function teeLink(inner: Link, file: FilePort, counter: { bytes: number }): Link {
  return {
    write: (d) => inner.write(d),
    async read(into, timeoutMs) {
      const n = await inner.read(into, timeoutMs);
      if (n !== null && n > 0) {
        await file.pwrite(into.subarray(0, n), counter.bytes);
        counter.bytes += n;
      }
      return n;
    },
    close: () => inner.close(),
  };
}

/** Runs the file end of one migration. Never throws. */
export async function runFileSink(options: FileSinkOptions): Promise<FileSinkReport> {
  const { link, clock, file, layout } = options;
  const appended = { bytes: 0 };
  const mapped = layout === "mapped";
  if (!mapped) await file.truncate(0).catch(() => {});
  const r = new StreamReader(mapped ? link : teeLink(link, file, appended), {
    maxRamBytes: options.maxRamBytes,
  });
  let outcome: Outcome = "failed";
  let error: string | undefined;
  let savedAtMs: number | null = null;
  let writer: MappedRamWriter | null = null;
  const stage = new Uint8Array(RUN_PAGES_MAX * PAGE_SIZE);
  const mismatched = new Uint8Array(RUN_PAGES_MAX);
  /** Per block: pages whose last copy failed its CRC (must come again before the end). */
  let suspect: Uint8Array[] = [];
  let suspectCount = 0;
  try {
    await r.header();
    await r.need(TYPE_BYTES, "the setup section");
    if (r.u8() !== SECTION_SETUP) throw r.error("Expected the setup section", r.offset - 1);
    const setup = await r.setup();
    const known = mapped ? 0 : CAP_XBZRLE | CAP_COMPRESS;
    if ((setup.capabilities & ~known) !== 0) {
      throw r.error(
        `Setup asks for capabilities 0x${setup.capabilities.toString(16)}, which a ${
          mapped ? "mapped-ram" : "stream"
        } file cannot hold`,
      );
    }
    const blocks = setup.blocks.map((b) => ({ name: b.name, bytes: b.pages * PAGE_SIZE }));
    if (mapped) {
      writer = await MappedRamWriter.create(file, blocks, { pageSize: setup.pageSize });
      suspect = setup.blocks.map((b) => new Uint8Array(b.pages));
    }
    let lastRound = -1;
    let sawDevice = false;
    let device: Uint8Array | null = null;
    for (;;) {
      const at = r.offset;
      await r.need(TYPE_BYTES, "a section type");
      const type = r.u8();
      if (type === SECTION_RAM) {
        if (sawDevice) throw r.error("RAM section after the device state", at);
        await r.need(ROUND_BYTES, "the RAM section round");
        const round = r.u32();
        if (round < lastRound) throw r.error(`RAM section for round ${round} after ${lastRound}`);
        lastRound = round;
        r.ramBegin();
        for (;;) {
          const rat = r.offset;
          const kind = await r.recordHead();
          if (kind === 0) {
            await r.verifyChecksum("the RAM section");
            break;
          }
          if (kind === KIND_ZERO) {
            r.checkRun(1);
            if (writer) {
              writer.zeroPage(r.block, r.page);
              if (suspect[r.block][r.page]) suspectCount--, suspect[r.block][r.page] = 0;
            }
          } else if (kind === KIND_NORMAL) {
            await r.need(COUNT_BYTES, "a normal-page count");
            const count = r.u16();
            if (count < 1 || count > RUN_PAGES_MAX) {
              throw r.error(`Normal record count ${count} is not in 1..${RUN_PAGES_MAX}`, rat);
            }
            r.checkRun(count);
            await r.align8("normal page data");
            const data = stage.subarray(0, count * PAGE_SIZE);
            const bad = await r.pageData(data, "normal page data", mismatched);
            if (writer) {
              const block = r.block, first = r.page, sus = suspect[block];
              await writer.writePages(block, first, data);
              for (let k = 0; k < count; k++) {
                const was = sus[first + k], now = bad > 0 ? mismatched[k] : 0;
                suspectCount += now - was;
                sus[first + k] = now;
              }
            }
          } else if (!mapped && kind === KIND_XBZRLE) {
            // A stream file keeps any record as it came (the tee wrote it); skip its payload.
            await r.need(XBZRLE_LEN_BYTES, "an XBZRLE length");
            const len = r.u16();
            r.checkRun(1);
            await r.need(len, "XBZRLE data");
            r.pos += len;
          } else if (!mapped && kind === KIND_DEFLATE) {
            await r.need(DEFLATE_HEAD_BYTES, "a compressed-record head");
            const count = r.u16();
            const len = r.u32();
            if (count < 1 || count > RUN_PAGES_MAX || len < 1 || len >= count * PAGE_SIZE) {
              throw r.error(`Compressed record of ${count} pages in ${len} bytes`, rat);
            }
            r.checkRun(count);
            await r.need(len, "compressed page data");
            r.pos += len;
          } else {
            throw r.error(
              `Record kind ${kind} (${
                KIND_NAMES[kind] ?? "unknown"
              }) cannot be placed in a mapped-ram file`,
              rat,
            );
          }
        }
      } else if (type === SECTION_DEVICE) {
        if (sawDevice) throw r.error("A second device-state section", at);
        await r.need(DEVICE_LEN_BYTES, "the device-state length");
        const len = r.u32();
        if (len > DEVICE_BYTES_MAX) throw r.error(`Device state of ${len} bytes`, at);
        await r.need(len, "the device state");
        device = r.buf.slice(r.pos, r.pos + len);
        r.pos += len;
        await r.verifyChecksum("the device state");
        sawDevice = true;
      } else if (type === SECTION_END) {
        if (!sawDevice || !device) throw r.error("End of stream before the device state", at);
        await r.verifyChecksum("the stream");
        if (suspectCount > 0) {
          throw r.error(`${suspectCount} page(s) failed their checksum and were not sent again`);
        }
        if (writer) await writer.finish(device);
        else await file.sync();
        break;
      } else if (type === SECTION_ABORT) {
        await r.need(ABORT_LEN_BYTES, "the abort reason length");
        const len = r.u16();
        await r.need(len, "the abort reason");
        throw new SourceAborted(new TextDecoder().decode(r.buf.subarray(r.pos, r.pos + len)));
      } else {
        throw r.error(`Unexpected section type 0x${type.toString(16)}`, at);
      }
    }
    savedAtMs = clock.nowMs();
    outcome = "completed";
    await writeAck(link, { status: ACK_LOADED, message: "saved" });
  } catch (e) {
    outcome = "failed";
    if (e instanceof SourceAborted) {
      error = `Source aborted the save: ${e.message}`;
    } else {
      error = `Saving to the file failed: ${(e as Error).message}`;
      await writeAck(link, { status: ACK_FAILED, message: error }).catch(() => {});
    }
  } finally {
    link.close();
  }
  const sizeBytes = await file.size().catch(() => null);
  return {
    outcome,
    error,
    savedAtMs,
    receivedBytes: r.received,
    file: sizeBytes === null ? null : {
      sizeBytes,
      writtenBytes: writer ? writer.writtenBytes : appended.bytes,
      pagesRewritten: writer ? writer.pagesRewritten : 0,
    },
  };
}
