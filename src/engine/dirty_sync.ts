/**
 * The migration bitmap and everything that changes it besides the RAM
 * sender's walk (which clears each bit as it sends the page): the guest's
 * dirty log, synced into it (fetch-and-clear, as KVM's), and free-page hints
 * (free_page_hints.ts), which clear the bits of pages the guest reports
 * free. QEMU's ram.c keeps these together too (`migration_bitmap_sync`,
 * the free-page-hint notifier).
 *
 * **Torn pages and hints meet here.** The sender reads guest RAM while the
 * vCPU writes it. A page written while it was read goes out torn: a NORMAL
 * run's page checksum no longer matches the data, and the destination holds
 * the page suspect until a later ZERO or NORMAL record of it
 * (ram_loader.ts, docs/stream.md). The source relies on the guest's
 * dirty log to send such a page again: the write set its dirty bit, and the
 * next {@link DirtySync.sync} brings it into the bitmap. A free-page hint is
 * the one thing that can clear that bit before the page goes again (a guest
 * that reports an in-use page as free, or a hint that reached the source
 * after the page was written). Any rule about which bits a hint may clear,
 * or about re-marking torn pages, belongs in this file.
 *
 * Order, as the source uses it: at each sync the current hint request is
 * retired first (what waits for it is applied), then the log is synced, then
 * a new request is issued while precopy goes on; hints that arrive meanwhile
 * are taken before each buffer goes out ({@link DirtySync.pollHints}), never
 * waited for. The stop-and-copy stops the hint source before its last sync.
 *
 * @example
 * ```ts
 * import { DirtySync } from "./dirty_sync.ts";
 * import { createRam } from "../guest/ram.ts";
 * import { DirtyLog } from "../guest/dirty_log.ts";
 * import { systemClock } from "../util/clock.ts";
 * const ram = createRam([{ name: "pc.ram", bytes: 64 * 4096 }]);
 * const log = new DirtyLog(ram.totalPages);
 * const dirty = new DirtySync({ ram, syncDirtyLog: (into) => log.syncInto(into) }, {
 *   clock: systemClock,
 *   hintTimeoutMs: 500,
 * });
 * dirty.markAll();
 * console.log(dirty.bitmap.count()); // 64: everything goes in the bulk pass
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { DirtyBitmap } from "../guest/dirty_log.ts";
import type { Ram } from "../guest/ram.ts";
import { FreePageHinting, type HintSource, type HintStats } from "./free_page_hints.ts";

/** What the dirty sync needs of the guest. */
export interface DirtyLogGuest {
  ram: Ram;
  /** Fetches and clears the dirty log into `into`; returns how many bits it held. */
  syncDirtyLog(into: DirtyBitmap): number;
}

/** Options of {@link DirtySync}. */
export interface DirtySyncOptions {
  clock: Clock;
  /** Where free-page hints come from; none: no hints. */
  hints?: HintSource | null;
  /** How long a hint request is honoured (`hintTimeoutMs`). */
  hintTimeoutMs: number;
}

/** Free-page-hint figures for a progress record. */
export interface HintProgress {
  hintPagesSkipped: number;
  hintsRejected: number;
  hintRequestsTimedOut: number;
}

/** The migration bitmap, the guest's dirty log and free-page hints. */
export class DirtySync {
  /** The pages still to send. */
  readonly bitmap: DirtyBitmap;
  #guest: DirtyLogGuest;
  #hinting: FreePageHinting | null;

  /** A bitmap for `guest`'s RAM; with a hint source, hints clear its bits. */
  constructor(guest: DirtyLogGuest, options: DirtySyncOptions) {
    this.#guest = guest;
    this.bitmap = new DirtyBitmap(guest.ram.totalPages);
    this.#hinting = options.hints
      ? new FreePageHinting(options.hints, {
        ram: guest.ram,
        bitmap: this.bitmap,
        clock: options.clock,
        timeoutMs: options.hintTimeoutMs,
      })
      : null;
  }

  /** Whether free-page hints are in use. */
  get hinting(): boolean {
    return this.#hinting !== null;
  }

  /** Marks every page for the bulk pass and clears the dirty log (its bits are in the pass). */
  markAll(): void {
    this.bitmap.setAll();
    this.#guest.syncDirtyLog(this.bitmap);
  }

  /**
   * One dirty-log sync between rounds: retires the current hint request
   * (applying what waits for it), then fetches and clears the log into the
   * bitmap. Returns how many bits the log held.
   */
  sync(): number {
    this.#hinting?.retire();
    return this.#guest.syncDirtyLog(this.bitmap);
  }

  /**
   * The last sync, with the guest stopped: the hint source is stopped first
   * (its last request retired), then the log is synced. Returns how many
   * bits the log held.
   */
  syncStopped(): number {
    this.#hinting?.stop();
    return this.#guest.syncDirtyLog(this.bitmap);
  }

  /** Issues a new hint request (after a sync, while precopy goes on). */
  requestHints(): void {
    this.#hinting?.request();
  }

  /** Applies the hints that arrived, within a bounded amount of work; never waits. */
  pollHints(): void {
    this.#hinting?.poll();
  }

  /** Stops the hint source (idempotent). */
  stopHints(): void {
    this.#hinting?.stop();
  }

  /** The hint counters so far, or null without hints. */
  hintStats(): HintStats | null {
    return this.#hinting ? this.#hinting.stats() : null;
  }

  /** The hint figures of a progress record, or null without hints. */
  hintProgress(): HintProgress | null {
    const h = this.#hinting;
    if (!h) return null;
    const s = h.stats();
    return {
      hintPagesSkipped: s.pagesSkipped,
      hintsRejected: h.rejectedTotal,
      hintRequestsTimedOut: s.timedOut,
    };
  }
}
