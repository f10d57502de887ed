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

/**
 * A seekable file, as the engine sees it (mapped-ram's transport): positioned
 * reads and writes, so a page written again overwrites itself in place. Real
 * peers wrap a Deno file (src/net/file_port.ts), tests and the simulator a
 * memory file.
 *
 * @example
 * ```ts ignore
 * import type { FilePort } from "./ports.ts";
 * async function zeroFirst(f: FilePort) {
 *   await f.pwrite(new Uint8Array(4096), 0);
 * }
 * ```
 */
export interface FilePort {
  /** Writes all of `data` at byte `offset`; rejects when the file cannot hold it (disk full). */
  pwrite(data: Uint8Array, offset: number): Promise<void>;
  /** Reads up to `into.length` bytes at `offset`; resolves with the count (0 at end of file). */
  pread(into: Uint8Array, offset: number): Promise<number>;
  /** The file's size in bytes (its logical size: holes count). */
  size(): Promise<number>;
  /** Sets the file's size (cuts it, or extends it with a hole). */
  truncate(bytes: number): Promise<void>;
  /** Flushes the file's data to its device. */
  sync(): Promise<void>;
  /** Closes the file. */
  close(): void;
}
