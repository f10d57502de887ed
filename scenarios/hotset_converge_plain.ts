/**
 * `hotset_converge_xbzrle` with plain precopy: the expected downtime never
 * gets under 30 ms, so after 15 rounds the migration is cancelled, and the
 * source guest keeps running, intact.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as xbzrle } from "./hotset_converge_xbzrle.ts";

const { xbzrleCacheSize: _, ...parameters } = xbzrle.migration!.parameters!;

/** The scenario. */
export const scenario: Scenario = {
  ...xbzrle,
  name: "hotset_converge_plain",
  description:
    "hotset at 64 MiB/s over a 16 MiB/s limit, 30 ms downtime limit: plain precopy cannot converge",
  migration: { capabilities: {}, parameters },
  expect: { outcome: "cancelled", memoryEqual: true },
};
