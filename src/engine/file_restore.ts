/**
 * Restores a guest from a file a migration saved (file_sink.ts) into fresh
 * RAM, treating the file as hostile. A `mapped` file is checked whole first
 * (header, offsets, size to the byte, end record, checksums:
 * stream/mapped_ram_reader.ts), then its pages are read into RAM and each
 * page's CRC-32 checked; a `stream` file is read back through the
 * destination engine, which checks it as it checks a socket. Any error gives
 * a failed report with no RAM: the caller discards the guest, nothing is
 * ever resumed half-loaded.
 *
 * @example
 * ```ts ignore
 * const r = await restoreFromFile({ file, layout: "mapped", clock, createRam, loadDevice });
 * if (r.outcome === "completed") resume(r.ram);
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { FilePort } from "../contract/ports.ts";
import type { Outcome } from "../contract/types.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { fileReadLink } from "../net/file_port.ts";
import type { StreamSetup } from "../stream/reader.ts";
import { loadMappedRamPages, openMappedRamFile } from "../stream/mapped_ram_reader.ts";
import { runDestination } from "./destination.ts";
import type { FileLayout } from "./file_sink.ts";

/** Restore options. */
export interface FileRestoreOptions {
  file: FilePort;
  layout: FileLayout;
  clock: Clock;
  /** Allocates guest RAM for the blocks the file declares; it must be all zero. */
  createRam(setup: StreamSetup): Ram;
  /** Checks and applies the device state; throws when it is malformed. */
  loadDevice(state: Uint8Array): void | Promise<void>;
  /** Largest guest accepted, in bytes. */
  maxRamBytes?: number;
}

/** What a restore reports. */
export interface FileRestoreReport {
  outcome: Outcome;
  error?: string;
  /** The restored RAM; null unless completed. */
  ram: Ram | null;
  /** Milliseconds of the clock from the start to the guest ready to resume (null: failed). */
  restoreMs: number | null;
  /** Pages read from the file (mapped: pages present; stream: full and zero pages loaded). */
  pages: number;
}

/** Restores a guest from `options.file`. Never throws. */
export async function restoreFromFile(options: FileRestoreOptions): Promise<FileRestoreReport> {
  const { file, clock } = options;
  const t0 = clock.nowMs();
  if (options.layout === "stream") {
    const d = await runDestination({
      link: fileReadLink(file),
      clock,
      createRam: options.createRam,
      loadDevice: options.loadDevice,
      maxRamBytes: options.maxRamBytes,
    });
    const ok = d.outcome === "completed";
    return {
      outcome: ok ? "completed" : "failed",
      ...(ok ? {} : { error: `Restoring the stream file failed: ${d.error}` }),
      ram: ok ? d.ram : null,
      restoreMs: ok ? clock.nowMs() - t0 : null,
      pages: d.pages.total,
    };
  }
  try {
    const saved = await openMappedRamFile(file, {
      pageSize: PAGE_SIZE,
      maxRamBytes: options.maxRamBytes,
    });
    const ram = options.createRam({
      pageSize: PAGE_SIZE,
      capabilities: 0,
      blocks: saved.layout.blocks.map((b) => ({ name: b.name, pages: b.pages })),
      params: new Uint8Array(0),
    });
    const pages = await loadMappedRamPages(file, saved, ram.blocks.map((b) => b.bytes));
    try {
      await options.loadDevice(saved.device);
    } catch (e) {
      throw new RangeError(`Mapped-ram file refused: device state: ${(e as Error).message}`);
    }
    return { outcome: "completed", ram, restoreMs: clock.nowMs() - t0, pages };
  } catch (e) {
    return {
      outcome: "failed",
      error: `Restoring the mapped-ram file failed: ${(e as Error).message}`,
      ram: null,
      restoreMs: null,
      pages: 0,
    };
  }
}
