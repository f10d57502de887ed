/**
 * `mapped-ram-busy` without mapped-ram: the stream appended to a file, which
 * grows with every round; compare its `file.sizeBytes` with mapped-ram's.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as mapped } from "./mapped-ram-busy.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...mapped,
  name: "file-stream-busy",
  description: "mapped-ram-busy with the plain stream to a file: the file grows with each round",
  migration: { ...mapped.migration, capabilities: {} },
};
