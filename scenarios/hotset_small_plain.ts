/**
 * `hotset_small_xbzrle` without XBZRLE: plain precopy on the same seed,
 * guest, network and rounds.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as xbzrle } from "./hotset_small_xbzrle.ts";

const { xbzrleCacheSize: _, ...parameters } = xbzrle.migration!.parameters!;

/** The scenario. */
export const scenario: Scenario = {
  ...xbzrle,
  name: "hotset_small_plain",
  description:
    "hotset, 64-byte writes at 64 MiB/s over a 32 MiB/s limit, plain precopy, 20 rounds; compare with hotset_small_xbzrle",
  migration: { capabilities: {}, parameters },
};
