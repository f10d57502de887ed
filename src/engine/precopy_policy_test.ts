import { assertEquals } from "../util/assert.ts";
import { PrecopyPolicy } from "./precopy_policy.ts";

const limits = { downtimeLimitMs: 300, maxRounds: 3, maxTimeMs: 10_000 };

Deno.test("precopy policy: stops when the estimate fits the limit, else goes on within maxRounds and maxTimeMs", () => {
  const p = new PrecopyPolicy({ ...limits, onNoConvergence: "force" });
  assertEquals(p.decide(1, { expectedDowntimeMs: 300, elapsedMs: 0 }), "converged");
  assertEquals(p.decide(1, { expectedDowntimeMs: 301, elapsedMs: 0 }), "continue");
  assertEquals(p.decide(3, { expectedDowntimeMs: 301, elapsedMs: 9_999 }), "continue");
  assertEquals(p.reason, "");
  // A round past maxRounds, or maxTimeMs reached: forced, unless the estimate fits.
  assertEquals(p.decide(4, { expectedDowntimeMs: 100, elapsedMs: 0 }), "converged");
  assertEquals(p.decide(4, { expectedDowntimeMs: 301, elapsedMs: 0 }), "forced");
  assertEquals(
    p.reason,
    "Did not converge after 3 rounds: expected downtime 301 ms > limit 300 ms",
  );
  assertEquals(p.decide(2, { expectedDowntimeMs: 450.4, elapsedMs: 10_000.2 }), "forced");
  assertEquals(
    p.reason,
    "Did not converge after 10000 ms (maxTimeMs 10000): expected downtime 450 ms > limit 300 ms",
  );
});

Deno.test("precopy policy: onNoConvergence cancel cancels, with the reason the destination recognises", () => {
  const p = new PrecopyPolicy({ ...limits, onNoConvergence: "cancel" });
  assertEquals(p.decide(3, { expectedDowntimeMs: Infinity, elapsedMs: 1 }), "continue");
  assertEquals(p.decide(4, { expectedDowntimeMs: Infinity, elapsedMs: 1 }), "cancel");
  assertEquals(
    p.reason,
    "Did not converge after 3 rounds: expected downtime Infinity ms > limit 300 ms",
  );
});

Deno.test("precopy policy: the downtime estimate counts full pages, or the wire bytes a page cost", () => {
  const bw = { bandwidthBytesPerSec: 4096 * 1000 }; // 1000 pages a second
  assertEquals(PrecopyPolicy.expectedDowntimeMs(50, { wireBytesPerPage: null, ...bw }), 50);
  assertEquals(PrecopyPolicy.expectedDowntimeMs(50, { wireBytesPerPage: 409.6, ...bw }), 5);
  assertEquals(PrecopyPolicy.expectedDowntimeMs(0, { wireBytesPerPage: null, ...bw }), 0);
  assertEquals(
    PrecopyPolicy.expectedDowntimeMs(1, { wireBytesPerPage: null, bandwidthBytesPerSec: 0 }),
    Infinity,
    "nothing measured yet",
  );
});
