/**
 * The destination is killed (kill -9) during the bulk pass; the migration
 * fails, the source guest keeps running intact, and with `retry` the runner
 * starts a fresh destination and the second attempt completes.
 *
 *     deno task scenario scenarios/faults/destination-killed-retry.ts
 * @module
 */
import type { Scenario } from "../../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "destination-killed-retry",
  seed: 42,
  mode: "real",
  guest: { ram: "64MiB", workload: { kind: "counter", dirtyRate: "16MiB/s" } },
  migration: { parameters: { downtimeLimitMs: 50, maxBandwidth: "256MiB/s" } },
  faults: [{ at: { afterBytes: 32 * 1024 * 1024 }, action: "kill-destination" }],
  retry: true,
  expect: { outcome: "completed", memoryEqual: true },
};
