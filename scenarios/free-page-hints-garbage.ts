/**
 * free-page-hints with a garbage balloon, which unaligned, out-of-range, zero, over-long, not-a-number, block-crossing and overlapping ranges: refused. Migration must complete with
 * memory equal and take no longer than 110 % of free-page-hints-off (about
 * 1.45 s here; the bound below allows for that on a quiet machine).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as hints } from "./free-page-hints.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...hints,
  name: "free-page-hints-garbage",
  description: "free-page-hints, garbage balloon",
  guest: { ...hints.guest, balloon: { behaviour: "garbage" } },
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300, totalTimeMsMax: 1600 },
};
