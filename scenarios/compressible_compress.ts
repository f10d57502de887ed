/**
 * A `compressible` guest (text-like pages) migrated with deflate page
 * compression, against `compressible_plain`: at most half the bytes
 * (`bytesMax` is half the guest; plain sends the guest at least once).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "compressible_compress",
  description: "compressible 32 MiB guest, deflate level 1; compare with compressible_plain",
  seed: 7,
  mode: "real",
  guest: {
    ram: "32MiB",
    fill: "compressible",
    workload: { kind: "hotset", dirtyRate: "8MiB/s", writeBytes: 64 },
  },
  migration: {
    capabilities: { compress: true },
    parameters: { downtimeLimitMs: 300, compressMethod: "deflate", compressLevel: 1 },
  },
  expect: { outcome: "completed", memoryEqual: true, bytesMax: 16 * 1024 * 1024 },
};
