/**
 * free-page-hints with a stale balloon, which answers under the previous command id: refused as stale. Migration must complete with
 * memory equal and take no longer than 110 % of free-page-hints-off (about
 * 1.45 s here; the bound below allows for that on a quiet machine).
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as hints } from "./free-page-hints.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...hints,
  name: "free-page-hints-stale",
  description: "free-page-hints, stale balloon",
  guest: { ...hints.guest, balloon: { behaviour: "stale" } },
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300, totalTimeMsMax: 1600 },
};
