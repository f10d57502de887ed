/**
 * Hints from a static free map instead of the balloon: the guest never uses
 * the 32 MiB its static map names, and the source skips them without asking
 * the guest anything.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as hints } from "./free-page-hints.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...hints,
  name: "free-page-hints-static",
  description: "64 MiB guest whose upper 32 MiB are a static free map; static hint source",
  guest: {
    ...hints.guest,
    freeRatio: 0,
    staticFreeMap: [{ start: "32MiB", length: "32MiB" }],
  },
  migration: {
    capabilities: { freePageHints: true },
    parameters: { maxBandwidth: "400Mbit", downtimeLimitMs: 100, hintSource: "static" },
  },
  expect: {
    outcome: "completed",
    memoryEqual: true,
    downtimeMsMax: 300,
    bytesMax: Math.floor(0.55 * 64 * 1024 ** 2),
  },
};
