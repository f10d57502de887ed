/**
 * A hot set written 64 bytes at a time, with XBZRLE, against
 * `hotset_small_plain` (same seed, guest and network). Both run 20 rounds (a
 * downtime limit of 0 never converges; the stop is forced) so that the bytes
 * after the bulk pass compare round for round: the first round after the
 * bulk pass finds nothing cached and sends as much as plain, the later ones
 * send deltas (test/xbzrle_test.ts asserts at most 30 % of plain's bytes).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "hotset_small_xbzrle",
  description:
    "hotset, 64-byte writes at 64 MiB/s over a 32 MiB/s limit, XBZRLE, 20 rounds; compare with hotset_small_plain",
  seed: 64,
  mode: "real",
  guest: {
    ram: "32MiB",
    fill: "random",
    workload: { kind: "hotset", dirtyRate: "64MiB/s", writeBytes: 64 },
  },
  migration: {
    capabilities: { xbzrle: true },
    parameters: {
      downtimeLimitMs: 0,
      maxRounds: 20,
      onNoConvergence: "force",
      maxBandwidth: "32MiB/s",
      xbzrleCacheSize: "16MiB",
    },
  },
  expect: { outcome: "completed", memoryEqual: true },
};
