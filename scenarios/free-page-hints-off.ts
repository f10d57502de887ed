/**
 * The same guest as free-page-hints, same seed, without hints: the baseline
 * for bytes and time.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as hints } from "./free-page-hints.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...hints,
  name: "free-page-hints-off",
  description: "free-page-hints without the capability: every page goes",
  migration: {
    capabilities: { freePageHints: false },
    parameters: { maxBandwidth: "400Mbit", downtimeLimitMs: 100 },
  },
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300 },
};
