/**
 * The source process is stopped (SIGSTOP) for 3 s during stop-and-copy, past
 * the 1 s peer timeout: the destination notices the silence, gives up and is
 * discarded; when the source continues it finds the migration failed and
 * resumes its guest, intact.
 *
 *     deno task scenario scenarios/faults/source-stopped.ts
 * @module
 */
import type { Scenario } from "../../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "source-stopped",
  seed: 42,
  mode: "real",
  guest: { ram: "64MiB", workload: { kind: "counter", dirtyRate: "16MiB/s" } },
  migration: { parameters: { downtimeLimitMs: 50, maxBandwidth: "256MiB/s", peerTimeoutMs: 1000 } },
  faults: [{ at: { phase: "stop-and-copy" }, action: "stop-source", durationMs: 3000 }],
  expect: { outcome: "failed", memoryEqual: true },
};
