/**
 * Free-page hints from an honest balloon: a 64 MiB guest that holds 75 % of
 * its memory free and allocates as it runs; the stream is limited to
 * 400 Mbit/s so that time follows bytes. Expect at most 35 % of the guest's
 * RAM on the wire (without hints, all of it goes: see free-page-hints-off).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "free-page-hints",
  description:
    "64 MiB guest, 75 % free, random allocations at 4 MiB/s; honest balloon hints, 400 Mbit/s",
  seed: 42,
  mode: "real",
  guest: {
    ram: "64MiB",
    fill: "random",
    freeRatio: 0.75,
    balloon: { behaviour: "honest" },
    workload: { kind: "random", dirtyRate: "4MiB/s", writeBytes: 256 },
  },
  migration: {
    capabilities: { freePageHints: true },
    parameters: { maxBandwidth: "400Mbit", downtimeLimitMs: 100, hintTimeoutMs: 300 },
  },
  expect: {
    outcome: "completed",
    memoryEqual: true,
    downtimeMsMax: 300,
    bytesMax: Math.floor(0.35 * 64 * 1024 ** 2),
  },
};
