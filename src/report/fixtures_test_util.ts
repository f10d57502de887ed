/**
 * Test fixtures for the report modules: a result shaped as the runner
 * returns one, with a plausible progress series, built from a few numbers.
 *
 * @example
 * ```ts
 * import { fixtureResult } from "./fixtures_test_util.ts";
 * const r = fixtureResult({ scenario: "a", totalTimeMs: 100, rounds: 3 });
 * console.log(r.progress.length); // 4
 * ```
 * @module
 */
import type { Result } from "../contract/types.ts";

/** Builds a result: `rounds` dirty rounds after the bulk pass, then stop-and-copy. */
export function fixtureResult(o: {
  scenario: string;
  seed?: number;
  mode?: "real" | "sim";
  totalTimeMs?: number;
  downtimeMs?: number | null;
  bytes?: number;
  ramBytes?: number;
  rounds?: number;
  passed?: boolean;
  memoryEqual?: boolean | null;
  outcome?: Result["outcome"];
}): Result {
  const total = o.totalTimeMs ?? 100;
  const ram = o.ramBytes ?? 16 * 1024 * 1024;
  const rounds = o.rounds ?? 2;
  const bytes = o.bytes ?? ram + 4096 * 10;
  const progress = [];
  for (let i = 0; i <= rounds; i++) {
    const last = i === rounds;
    progress.push({
      timeMs: (total * 0.9 * i) / rounds,
      round: i,
      phase: i === 0 ? "bulk" : last ? "stop-and-copy" : "round",
      transferredBytes: i === 0 ? 32 : Math.round((bytes * i) / (rounds + 1)),
      remainingBytes: i === 0 ? ram : Math.round(ram / 2 ** (i + 2)),
      dirtyPages: 10,
      dirtyRateBytesPerSec: 1e6,
      bandwidthBytesPerSec: i === 0 ? 0 : 5e8,
      expectedDowntimeMs: i === 0 ? 0 : 1,
      cacheHits: i,
    });
  }
  return {
    scenario: o.scenario,
    seed: o.seed ?? 1,
    mode: o.mode ?? "real",
    outcome: o.outcome ?? "completed",
    memoryEqual: o.memoryEqual === undefined ? true : o.memoryEqual,
    mismatchedPages: 0,
    mismatchedAddresses: [],
    downtimeMs: o.downtimeMs === undefined ? 10 : o.downtimeMs,
    totalTimeMs: total,
    setupTimeMs: 1,
    iterations: rounds + 1,
    rounds,
    bytes: { total: bytes, normal: bytes - 4096 * 10 - 100, zero: 4096 * 10, overhead: 100 },
    pages: { total: Math.ceil(bytes / 4096), normal: Math.ceil(bytes / 4096) - 10, zero: 10 },
    progress,
    faults: [],
    expectations: [
      { name: "outcome", ok: true, detail: "completed" },
      {
        name: "memoryEqual",
        ok: o.passed ?? true,
        detail: o.passed === false ? "1 pages differ" : "equal",
      },
    ],
    passed: o.passed ?? true,
    wall: { runnerMs: total * 5 },
  };
}
