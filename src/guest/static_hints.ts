/**
 * A static hint source: a free map known in advance (the scenario's
 * `guest.staticFreeMap`), reported in full for every request, at once. It is
 * the second implementation of {@link HintSource}, beside the balloon: the
 * engine treats it exactly the same way (command ids, validation, timeout).
 *
 * @example
 * ```ts
 * import { StaticHintSource } from "./static_hints.ts";
 * const source = new StaticHintSource([[0, 8 * 1024 * 1024]]);
 * source.request(1);
 * const batch = source.take()!;
 * console.log(batch.count, batch.done); // 2 true
 * ```
 * @module
 */
import {
  HINT_BATCH_RANGES_MAX,
  HINT_RANGE_BYTES_MAX,
  type HintBatch,
  type HintSource,
} from "../contract/ports.ts";

/** Reports a fixed list of free ranges for every request. */
export class StaticHintSource implements HintSource {
  readonly name = "static";
  #ranges: Float64Array;
  #count: number;
  #commandId = 0;
  #next = 0;

  /** `ranges` are `[address, length]` pairs in bytes; longer ranges are split at 4 MiB. */
  constructor(ranges: readonly (readonly [number, number])[]) {
    const out: number[] = [];
    for (const [addr, len] of ranges) {
      for (let off = 0; off < len; off += HINT_RANGE_BYTES_MAX) {
        out.push(addr + off, Math.min(HINT_RANGE_BYTES_MAX, len - off));
      }
    }
    this.#ranges = new Float64Array(out);
    this.#count = out.length / 2;
  }

  /** Starts reporting the map under `commandId`. */
  request(commandId: number): void {
    this.#commandId = commandId;
    this.#next = 0;
  }

  /** The next batch of the map, the last one marked done; null when all was taken. */
  take(): HintBatch | null {
    if (this.#commandId === 0 || this.#next > this.#count) return null;
    const from = this.#next;
    const to = Math.min(this.#count, from + HINT_BATCH_RANGES_MAX);
    this.#next = to === this.#count ? this.#count + 1 : to;
    return {
      commandId: this.#commandId,
      ranges: this.#ranges.subarray(2 * from, 2 * to),
      count: to - from,
      done: to === this.#count,
    };
  }

  /** Reports nothing more. */
  stop(): void {
    this.#commandId = 0;
  }
}
