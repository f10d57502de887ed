/**
 * Ports: the interfaces through which the engine meets the world. The engine
 * is given a clock, a link and a hint source; real peers and the simulator
 * each implement them their own way.
 *
 * @example
 * ```ts
 * import type { HintSource } from "./ports.ts";
 * const none: HintSource = { name: "none", request() {}, take: () => null, stop() {} };
 * console.log(none.take()); // null
 * ```
 * @module
 */
export type { Clock } from "../util/clock.ts";
import type { Clock } from "../util/clock.ts";

/** A clock that can also run a callback at a time of its own (the simulator's virtual clock). */
export interface SchedulingClock extends Clock {
  /** Calls `fire` when the clock reaches `atMs`; setting the handle's `cancelled` stops it. */
  at(atMs: number, fire: () => void): { cancelled: boolean };
}

/** A bidirectional byte stream. */
export interface Link {
  /** Writes all of `data`; resolves when the caller may reuse the buffer. */
  write(data: Uint8Array): Promise<void>;
  /**
   * Reads into `into`; resolves with the count, or null at end of stream.
   * `timeoutMs` overrides the link's idle timeout for this read (Infinity: none).
   */
  read(into: Uint8Array, timeoutMs?: number): Promise<number | null>;
  /** Closes both directions; pending calls reject or end. */
  close(): void;
}

/** One batch of free ranges reported for a command. */
export interface HintBatch {
  /** The command id the batch answers. */
  commandId: number;
  /**
   * Pairs `[address, length]` in bytes of guest-physical space, where a
   * page's address is its global page number times the page size (blocks in
   * layout order). Only the first `count` pairs are read.
   */
  ranges: Float64Array;
  count: number;
  /** The reporter says it has nothing more for this command. */
  done: boolean;
}

/** Anything that can tell the source which guest pages are free. */
export interface HintSource {
  /** A short name for statistics ("balloon", "static"). */
  readonly name: string;
  /** Starts a request under `commandId` (larger than any before); returns at once. */
  request(commandId: number): void;
  /** The next batch waiting, or null; never waits. */
  take(): HintBatch | null;
  /** No more requests will come; returns at once. */
  stop(): void;
}

/** Longest hinted range accepted (4 MiB, the largest block a buddy allocator hands out). */
export const HINT_RANGE_BYTES_MAX = 4 * 1024 * 1024;
/** Most ranges in one batch. */
export const HINT_BATCH_RANGES_MAX = 1024;
