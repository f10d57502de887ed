/**
 * Mapped-ram: a busy guest saved to a file over 10 dirty rounds (each page
 * rewritten in place), then restored into a fresh destination and judged
 * against the source at stop. The file stays within RAM + 4 MiB.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "mapped-ram-busy",
  description: "64 MiB guest, random 64-byte writes at 256 MiB/s, mapped-ram to a file, 10 rounds",
  seed: 42,
  guest: { ram: "64MiB", workload: { kind: "random", dirtyRate: "256MiB/s", writeBytes: 64 } },
  migration: {
    capabilities: { mappedRam: true },
    parameters: { downtimeLimitMs: 0, maxRounds: 10 },
    transport: { kind: "file" },
  },
  expect: { outcome: "completed", memoryEqual: true },
};
