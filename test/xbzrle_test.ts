/**
 * XBZRLE and compression against plain precopy, on the scenarios of
 * `scenarios/` (same seed, guest and network in each pair).
 *
 * The comparisons of XBZRLE with plain precopy run in simulation mode: they
 * rest on plain precopy never converging under a downtime limit of 0 (or
 * of 30 ms on the converge pair), which holds on the virtual clock, where
 * the guest dirties memory at its rate whatever the machine does. Between
 * real peers a busy machine can starve the guest's vCPU thread for a whole
 * round, plain precopy then finds nothing dirty and converges, and the pair
 * measures something else; so each pair is judged on one deterministic run
 * of each side, never rerun. The XBZRLE scenarios also run between real
 * peer processes, judged on what holds whatever the timing: memory equal,
 * their expectations met, statistics that add up.
 * @module
 */
import { assertEquals, assertOk } from "../src/util/assert.ts";
import { runScenario } from "../src/scenario/runner.ts";
import { PAGE_SIZE } from "../src/contract/page.ts";
import type { Result, Scenario } from "../src/contract/types.ts";
import { scenario as seedXbzrle } from "../scenarios/xbrle_seed_xbzrle.ts";
import { scenario as seedPlain } from "../scenarios/xbrle_seed_plain.ts";
import { scenario as hotXbzrle } from "../scenarios/hotset_small_xbzrle.ts";
import { scenario as hotPlain } from "../scenarios/hotset_small_plain.ts";
import { scenario as convergeXbzrle } from "../scenarios/hotset_converge_xbzrle.ts";
import { scenario as convergePlain } from "../scenarios/hotset_converge_plain.ts";
import { scenario as compressOn } from "../scenarios/compressible_compress.ts";
import { scenario as compressOff } from "../scenarios/compressible_plain.ts";

/** Runs a scenario in `mode`; its memory must be equal and its expectations met. */
async function run(s: Scenario, mode: "real" | "sim"): Promise<Result> {
  const r = await runScenario(s, { mode });
  assertEquals(r.mode, mode);
  assertEquals(
    r.memoryEqual,
    true,
    `${s.name}: ${r.mismatchedAddresses.join(", ")} ${r.error ?? ""}`,
  );
  assertEquals(r.passed, true, `${s.name}: ${JSON.stringify(r.expectations)}`);
  return r;
}

/** Stream bytes sent after the first full pass (the sync that follows it records what the bulk pass sent). */
function afterBulk(r: Result): number {
  return r.bytes!.total - r.progress[1].transferredBytes;
}

/** Runs a pair in simulation and returns XBZRLE's bytes after the bulk pass over plain's. */
async function pairRatio(xbzrle: Scenario, plain: Scenario) {
  assertEquals(xbzrle.seed, plain.seed);
  assertEquals(xbzrle.guest, plain.guest);
  assertEquals(xbzrle.network, plain.network);
  assertEquals(plain.migration!.parameters!.downtimeLimitMs, 0);
  const x = await run(xbzrle, "sim");
  const p = await run(plain, "sim");
  // A downtime limit of 0 is met only by a sync that finds nothing dirty;
  // on the virtual clock plain's guest dirties pages every round.
  assertEquals(p.forcedStop, true, `plain stopped after ${p.rounds} rounds`);
  assertEquals(p.converged, false);
  return { x, p, ratio: afterBulk(x) / afterBulk(p) };
}

/**
 * The XBZRLE statistics agree with the per-kind counters and with each
 * other: every page looked up after the bulk pass was a miss, unchanged,
 * an overflow or a delta sent.
 */
function checkXbzrleStats(r: Result): void {
  const s = r.xbzrle!;
  assertOk(s, "the result has XBZRLE statistics");
  assertEquals(s.pages, r.pages!.xbzrle);
  assertEquals(s.bytes, r.bytes!.xbzrle);
  assertOk(s.pages > 0 && s.bytes > 0, `${s.pages} pages, ${s.bytes} bytes`);
  assertOk(s.cacheSizeBytes > 0 && s.cacheMisses > 0);
  assertOk(s.cacheMissRate > 0 && s.cacheMissRate <= 1);
  assertOk(s.encodingRate > 1, `encoding rate ${s.encodingRate}`);
  const lookups = Math.round(s.cacheMisses / s.cacheMissRate);
  assertEquals(
    s.overflows,
    lookups - s.cacheMisses - s.unchangedPages - s.pages,
    `${lookups} pages looked up: ${JSON.stringify(s)}`,
  );
  // One record per sync, each with the XBZRLE statistics of its round.
  assertEquals(r.progress.length, r.iterations);
  assertOk(r.progress.every((p) => p.xbzrle && p.xbzrle.cacheSizeBytes === s.cacheSizeBytes));
  assertOk(r.progress.some((p) => p.xbzrle!.encodingRate > 1));
  assertEquals(r.progress.at(-1)!.xbzrle!.cacheMisses <= s.cacheMisses, true);
}

Deno.test("sim: xbzrle on the xbrle-seed workload: memory equal, at most 30 % of plain's bytes after the bulk pass", async () => {
  const { x, p, ratio } = await pairRatio(seedXbzrle, seedPlain);
  assertOk(
    ratio <= 0.3,
    `xbzrle ${afterBulk(x)} bytes, plain ${afterBulk(p)}: ${(ratio * 100).toFixed(1)} %`,
  );
  checkXbzrleStats(x);
  // The workload changes one byte of each page: a delta never overflows.
  assertEquals(x.xbzrle!.overflows, 0);
  assertEquals(p.xbzrle, null);
  assertEquals(p.pages!.xbzrle, 0);
});

Deno.test("sim: xbzrle on a hot set with 64-byte writes: memory equal, at most 30 % of plain's bytes after the bulk pass", async () => {
  const { x, p, ratio } = await pairRatio(hotXbzrle, hotPlain);
  assertOk(
    ratio <= 0.3,
    `xbzrle ${afterBulk(x)} bytes, plain ${afterBulk(p)}: ${(ratio * 100).toFixed(1)} %`,
  );
  checkXbzrleStats(x);
  assertEquals(p.xbzrle, null);
});

Deno.test("sim: a hot set plain precopy cannot bring under its downtime limit converges with xbzrle", async () => {
  const p = await run(convergePlain, "sim");
  assertEquals(p.outcome, "cancelled", p.error);
  assertEquals(p.converged, false);
  assertEquals(p.sourceGuestRunning, true, "the source guest runs on, intact");
  const x = await run(convergeXbzrle, "sim");
  assertEquals(x.outcome, "completed", x.error);
  assertEquals(x.converged, true);
  assertEquals(x.forcedStop, false);
  const limit = convergeXbzrle.migration!.parameters!.downtimeLimitMs as number;
  assertOk(x.progress.at(-2)!.expectedDowntimeMs <= limit);
  assertOk(p.progress.slice(2).every((r) => r.expectedDowntimeMs > limit));
  checkXbzrleStats(x);
});

for (const s of [seedXbzrle, hotXbzrle, convergeXbzrle]) {
  Deno.test(`real peers: ${s.name}: memory equal, expectations met, statistics add up`, async () => {
    const x = await run(s, "real");
    checkXbzrleStats(x);
    if (s === seedXbzrle) assertEquals(x.xbzrle!.overflows, 0, "one byte of each page changes");
  });
}

Deno.test("compression on a compressible guest: memory equal, at most half of plain's bytes, statistics", async () => {
  const c = await run(compressOn, "real");
  const p = await run(compressOff, "real");
  assertOk(
    c.bytes!.total <= p.bytes!.total / 2,
    `compressed ${c.bytes!.total} bytes, plain ${p.bytes!.total}`,
  );
  const s = c.compression!;
  assertOk(s, "the result has compression statistics");
  assertEquals(s.method, "deflate");
  assertOk(s.pages >= c.pages!.deflate && c.pages!.deflate > 0);
  assertOk(s.bytesAfter < s.bytesBefore / 2, `${s.bytesAfter} of ${s.bytesBefore}`);
  assertOk(s.compressMs > 0 && (s.decompressMs ?? 0) > 0);
  assertOk(c.progress.every((r) => r.compression));
  // Before anything is sent the estimate counts a full page; from the bulk
  // pass on, what a page of this guest cost compressed.
  const perPage = c.progress.map((r) => r.wireBytesPerPage);
  assertEquals(perPage[0], PAGE_SIZE);
  assertOk(
    perPage.slice(1).every((b) => b !== undefined && b > 0 && b < PAGE_SIZE / 2),
    `wire bytes per page: ${perPage.join(", ")}`,
  );
  assertEquals(p.compression, null);
});
