/**
 * `xbrle_seed_xbzrle` without XBZRLE: plain precopy on the same seed, guest,
 * network and rounds.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as xbzrle } from "./xbrle_seed_xbzrle.ts";

const { xbzrleCacheSize: _, ...parameters } = xbzrle.migration!.parameters!;

/** The scenario. */
export const scenario: Scenario = {
  ...xbzrle,
  name: "xbrle_seed_plain",
  description:
    "xbrle-seed workload, plain precopy, 10 rounds at 32 MiB/s; compare with xbrle_seed_xbzrle",
  migration: { capabilities: {}, parameters },
};
