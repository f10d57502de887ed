/**
 * Mapped-ram with the disk filling up: the file may not grow past 16 MiB, so
 * the save fails with ENOSPC; the source guest must run on, intact, and no
 * destination resumes.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";
import { scenario as mapped } from "./mapped-ram-busy.ts";

/** The scenario. */
export const scenario: Scenario = {
  ...mapped,
  name: "mapped-ram-disk-full",
  description: "mapped-ram-busy on a disk that fills up at 16 MiB: a clean failure",
  migration: { ...mapped.migration, transport: { kind: "file", sizeLimit: "16MiB" } },
  expect: { outcome: "failed", memoryEqual: true },
};
