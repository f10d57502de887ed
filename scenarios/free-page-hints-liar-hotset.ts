/**
 * Swarm finding 777-119 (issue 21): a lying balloon on a busy 8 MiB hot-set
 * guest, 75 % free, over a slow link (20 Mbit/s, 10 Mbit/s from 300 ms).
 * Pages go out while the guest writes them (torn: their checksums fail at the
 * destination until a later copy arrives), then the balloon calls them free.
 * Before the fix the source trusted that and never sent them again, and the
 * destination refused the stream ("40 page(s) failed their checksum and were
 * not sent again"), in both modes, every time. Now a page once sent is never
 * spared by a hint: migration completes, the liar's lied-about pages are set
 * apart and every other page is equal. The stop is forced (the link is too
 * slow to converge), so the downtime is long and not asserted.
 *
 * Run with `--mode real` for the same scenario between peer processes.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "free-page-hints-liar-hotset",
  description: "liar balloon, busy hot-set guest, slow link (swarm 777-119)",
  seed: 1214276995,
  mode: "sim",
  guest: {
    ram: "8MiB",
    fill: "random",
    workload: {
      kind: "hotset",
      dirtyRate: "16MiB/s",
      writeBytes: 512,
      hotsetRatio: 0.05,
      hotsetProbability: 0.5,
    },
    freeRatio: 0.75,
    balloon: { behaviour: "liar" },
  },
  migration: {
    capabilities: { freePageHints: true },
    parameters: {
      hintTimeoutMs: 1000,
      downtimeLimitMs: 100,
      maxRounds: 30,
      maxTimeMs: 5000,
      onNoConvergence: "force",
      peerTimeoutMs: 1000,
    },
  },
  network: { bandwidth: "20Mbit", jitterMs: 10, schedule: [{ atMs: 300, bandwidth: "10Mbit" }] },
  faults: [],
  warmupMs: 200,
  settleMs: 50,
  expect: { outcome: "completed", memoryEqual: true },
};
