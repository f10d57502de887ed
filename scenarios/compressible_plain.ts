/**
 * `compressible_compress` without compression: plain precopy on the same
 * seed, guest and network.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as compress } from "./compressible_compress.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...compress,
  name: "compressible_plain",
  description: "compressible 32 MiB guest, plain precopy; compare with compressible_compress",
  migration: { capabilities: {}, parameters: { downtimeLimitMs: 300 } },
  expect: { outcome: "completed", memoryEqual: true },
};
