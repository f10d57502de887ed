/**
 * The guest of `hash-dedup-back`, migrated by plain precopy: the baseline.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as back } from "./hash-dedup-back.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...back,
  name: "hash-dedup-back-plain",
  description: "the guest of hash-dedup-back, plain precopy over 1 Gbit",
  migration: { capabilities: {}, parameters: { downtimeLimitMs: 300 } },
  destination: {},
};
