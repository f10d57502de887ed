/**
 * Mapped-ram: an idle, zero-filled guest saved and restored. No zero page is
 * written: the file holds metadata and holes.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "mapped-ram-idle-zero",
  description:
    "128 MiB zero guest, idle, mapped-ram to a file: a sparse file, nothing but metadata",
  seed: 42,
  guest: { ram: "128MiB", fill: "zero", workload: { kind: "idle" } },
  migration: { capabilities: { mappedRam: true }, transport: { kind: "file" } },
  expect: { outcome: "completed", memoryEqual: true },
};
