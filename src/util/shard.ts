/**
 * Sharding a matrix of cases across CI runners: `--shard I/N` runs the cases
 * whose name hashes to shard I of N. The assignment depends only on a case's
 * name and N (the first four bytes of the SHA-256 of its UTF-8 name, big
 * endian, modulo N, plus one), never on its position, so adding or removing
 * a case moves no other case to another shard.
 *
 * @example
 * ```ts
 * import { parseShard, shardOf } from "./shard.ts";
 * const s = parseShard("2/4");
 * console.log(s); // { index: 2, count: 4 }
 * console.log(shardOf("precopy", 4) >= 1); // true
 * ```
 * @module
 */
import { createHash } from "node:crypto";

/** One shard of N: `index` is 1-based, 1 <= index <= count. */
export interface Shard {
  /** Which shard, from 1. */
  index: number;
  /** How many shards in all. */
  count: number;
}

/**
 * Parses `I/N` (whole numbers, 1 <= I <= N); throws RangeError saying what is
 * wrong.
 *
 * @example
 * ```ts
 * import { parseShard } from "./shard.ts";
 * console.log(parseShard("1/1")); // { index: 1, count: 1 }
 * ```
 */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new RangeError(`--shard must be I/N (as 2/5), got "${text}"`);
  const index = Number(m[1]), count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) {
    throw new RangeError(`--shard ${text}: N must be a whole number from 1 to 10000`);
  }
  if (!Number.isSafeInteger(index) || index < 1 || index > count) {
    throw new RangeError(`--shard ${text}: I must be a whole number from 1 to N (${count})`);
  }
  return { index, count };
}

/**
 * The shard (1..count) a case of this name belongs to.
 *
 * @example
 * ```ts
 * import { shardOf } from "./shard.ts";
 * console.log(shardOf("any case", 1)); // 1
 * ```
 */
export function shardOf(name: string, count: number): number {
  const digest = createHash("sha256").update(name, "utf8").digest();
  return (digest.readUInt32BE(0) % count) + 1;
}

/**
 * Whether a case of this name runs in `shard` (every case does without one).
 *
 * @example
 * ```ts
 * import { inShard } from "./shard.ts";
 * console.log(inShard("x", undefined)); // true
 * ```
 */
export function inShard(name: string, shard: Shard | undefined): boolean {
  return shard === undefined || shardOf(name, shard.count) === shard.index;
}

/**
 * Formats a shard as `I/N`.
 *
 * @example
 * ```ts
 * import { formatShard } from "./shard.ts";
 * console.log(formatShard({ index: 3, count: 8 })); // "3/8"
 * ```
 */
export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
