/**
 * Swarm finding 777-374 (issue 21): a flooding balloon (honest pages, far
 * too many ranges) on a 4 MiB guest, 25 % free, whose random workload
 * rewrites whole pages at 64 MiB/s, at most two rounds before a forced stop.
 * A page sent while the guest wrote it (torn) and freed afterwards was hinted
 * free and never sent again, so the destination refused the stream ("1
 * page(s) failed their checksum and were not sent again") in simulation;
 * between real peers timing decided (3 runs of 3 completed). Now a page once
 * sent is never spared by a hint, and migration completes with memory equal.
 *
 * Run with `--mode real` for the same scenario between peer processes.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "free-page-hints-flood-busy",
  description: "flooding balloon, whole-page random writes at 64 MiB/s (swarm 777-374)",
  seed: 1889174658,
  mode: "sim",
  guest: {
    ram: "4MiB",
    fill: "compressible",
    workload: { kind: "random", dirtyRate: "64MiB/s", writeBytes: 4096 },
    freeRatio: 0.25,
    balloon: { behaviour: "flood" },
  },
  migration: {
    capabilities: { freePageHints: true },
    parameters: {
      hintTimeoutMs: 20,
      downtimeLimitMs: 5,
      maxRounds: 2,
      maxTimeMs: 2000,
      onNoConvergence: "force",
      peerTimeoutMs: 3000,
      maxBandwidth: "1Gbit",
    },
  },
  network: {},
  faults: [],
  warmupMs: 0,
  settleMs: 50,
  expect: { outcome: "completed", memoryEqual: true },
};
