/**
 * free-page-hints with a flood balloon, which millions of one-page ranges per request: cut at one range per guest page. Migration must complete with
 * memory equal and take no longer than 110 % of free-page-hints-off (about
 * 1.45 s here; the bound below allows for that on a quiet machine).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as hints } from "./free-page-hints.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...hints,
  name: "free-page-hints-flood",
  description: "free-page-hints, flood balloon",
  guest: { ...hints.guest, balloon: { behaviour: "flood" } },
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300, totalTimeMsMax: 1600 },
};
