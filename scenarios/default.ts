/**
 * The default scenario: a 256 MiB guest with a hot-set workload, plain
 * precopy, over loopback.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "default",
  description: "256 MiB guest, hotset workload at 64 MiB/s, plain precopy over loopback",
  seed: 42,
  mode: "real",
  guest: {
    ram: "256MiB",
    fill: "random",
    workload: { kind: "hotset", dirtyRate: "64MiB/s", writeBytes: 256 },
  },
  migration: { capabilities: {}, parameters: { downtimeLimitMs: 300 } },
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300 },
};
