/**
 * free-page-hints with a liar balloon, which reports in-use pages as free: those pages are lost to it and set apart by the checker; every other page is equal. Migration must complete with
 * memory equal and take no longer than 110 % of free-page-hints-off (about
 * 1.45 s here; the bound below allows for that on a quiet machine).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as hints } from "./free-page-hints.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...hints,
  name: "free-page-hints-liar",
  description: "free-page-hints, liar balloon",
  guest: { ...hints.guest, balloon: { behaviour: "liar" } },
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300, totalTimeMsMax: 1600 },
};
