/**
 * Seed 001's generator (64 pages, one byte of each changed per touch) with
 * XBZRLE, against `xbrle_seed_plain` (same seed, guest and network). Both
 * run the same number of rounds (a downtime limit of 0 never converges; the
 * stop after `maxRounds` is forced) so that the bytes compare round for
 * round: after the bulk pass XBZRLE sends a few bytes per page where plain
 * precopy sends the page (test/xbzrle_test.ts asserts at most 30 %).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "xbrle_seed_xbzrle",
  description: "xbrle-seed workload, XBZRLE, 10 rounds at 32 MiB/s; compare with xbrle_seed_plain",
  seed: 1001,
  mode: "real",
  guest: { ram: "32MiB", fill: "random", workload: { kind: "xbrle-seed", dirtyRate: "64MiB/s" } },
  migration: {
    capabilities: { xbzrle: true },
    parameters: {
      downtimeLimitMs: 0,
      maxRounds: 10,
      onNoConvergence: "force",
      maxBandwidth: "32MiB/s",
      xbzrleCacheSize: "8MiB",
    },
  },
  expect: { outcome: "completed", memoryEqual: true },
};
