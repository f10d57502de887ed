/**
 * The result's `hash` (capability hashDedup), from what each peer reported:
 * the hits, unresolved lookups and the destination's hashing time from the
 * destination; the source's hashing time from the source; the fallback from
 * whichever said it. A figure whose peer did not report is null.
 *
 * @example
 * ```ts
 * import { hashResult } from "./hash_result.ts";
 * const h = hashResult({ pages: 1, bytes: 33, sourceHashMs: 1, requests: 0, fallback: null }, undefined);
 * console.log(h.checkpointHits, h.sourceHashMs); // null 1
 * ```
 * @module
 */
import type { HashStatsRecord } from "../contract/types.ts";
import type { DestinationHashRecord, SourceHashRecord } from "../engine/hash_dedup.ts";

/** Merges the peers' hashDedup counters into the result's `hash`. */
export function hashResult(
  src: SourceHashRecord | undefined,
  dst: DestinationHashRecord | undefined,
): HashStatsRecord {
  return {
    checkpointHits: dst?.checkpointHits ?? null,
    receivedHits: dst?.receivedHits ?? null,
    unresolved: dst?.unresolved ?? null,
    sourceHashMs: src?.sourceHashMs ?? null,
    destinationHashMs: dst?.destinationHashMs ?? null,
    fallback: src?.fallback ?? dst?.fallback ?? null,
    checkpointPages: dst?.checkpointPages ?? null,
    checkpointIndexMs: dst?.checkpointIndexMs ?? null,
  };
}
