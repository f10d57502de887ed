/**
 * A hot set (5 % of RAM, 99 % of the writes) dirtied at 64 MiB/s (64-byte
 * writes) over a 16 MiB/s rate limit
 * with a 30 ms downtime limit: plain precopy cannot get the expected
 * downtime under the limit (the hot set alone takes about 100 ms to send, and
 * it is dirty again by then) and is cancelled after 15 rounds
 * (`hotset_converge_plain`); XBZRLE sends the hot pages as deltas of a few
 * hundred bytes and converges within a few rounds.
 *
 * The margins are wide on purpose, for a busy two-core machine: plain's
 * expected downtime settles near 4x the limit (2x at half the dirty rate),
 * XBZRLE's falls well under it. The downtime expectation is looser than the
 * limit: the measured downtime also counts process wake-ups on the machine.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "hotset_converge_xbzrle",
  description:
    "hotset at 64 MiB/s over a 16 MiB/s limit, 30 ms downtime limit: XBZRLE converges (plain cannot)",
  seed: 30,
  mode: "real",
  guest: {
    ram: "32MiB",
    fill: "random",
    workload: { kind: "hotset", dirtyRate: "64MiB/s", writeBytes: 64, hotsetProbability: 0.99 },
  },
  migration: {
    capabilities: { xbzrle: true },
    parameters: {
      downtimeLimitMs: 30,
      maxRounds: 15,
      onNoConvergence: "cancel",
      maxBandwidth: "16MiB/s",
      xbzrleCacheSize: "32MiB",
    },
  },
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300 },
};
