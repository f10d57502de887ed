/**
 * A migration over a shaped wide-area link: 100 Mbit/s, 10 ms one-way
 * latency with 2 ms of seeded jitter, dropping to 50 Mbit/s after 1 s. The
 * userspace shaping proxy carries the stream (see docs/network.md).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "wan",
  description: "32 MiB hotset guest over 100 Mbit/s, 10 ms latency, dropping to 50 Mbit/s at 1 s",
  seed: 42,
  mode: "real",
  guest: {
    ram: "32MiB",
    fill: "random",
    workload: { kind: "hotset", dirtyRate: "4MiB/s", writeBytes: 256, hotsetRatio: 0.02 },
  },
  migration: { parameters: { downtimeLimitMs: 100 } },
  network: {
    bandwidth: "100Mbit",
    latencyMs: 10,
    jitterMs: 2,
    schedule: [{ atMs: 1000, bandwidth: "50Mbit" }],
  },
  // The source estimates from what its socket accepts; the queue behind it drains in the downtime too.
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 500 },
};
