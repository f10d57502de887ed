import { assertEquals, assertOk, assertThrows } from "../util/assert.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import {
  extractMetrics,
  formatValue,
  judgeMove,
  METRICS,
  parseThreshold,
  summarize,
} from "./metrics.ts";

Deno.test("summarize gives median, min and max and skips missing values", () => {
  assertEquals(summarize([5, 1, 3]), { n: 3, median: 3, min: 1, max: 5 });
  assertEquals(summarize([4, 1, null, 3, 2]), { n: 4, median: 2.5, min: 1, max: 4 });
  assertEquals(summarize([null, undefined, NaN]), null);
  assertEquals(summarize([7]), { n: 1, median: 7, min: 7, max: 7 });
});

Deno.test("every metric is read from a result", () => {
  const m = extractMetrics(
    fixtureResult({ scenario: "a", totalTimeMs: 200, bytes: 1000, downtimeMs: null }),
  );
  assertEquals(Object.keys(m), METRICS.map((d) => d.name));
  assertEquals(m.totalTimeMs, 200);
  assertEquals(m.bytesTotal, 1000);
  assertEquals(m.downtimeMs, null);
  assertEquals(m.passed, 1);
  assertEquals(m.memoryEqual, 1);
  assertEquals(m.throughputBytesPerSec, 5000);
});

Deno.test("thresholds parse from text and objects, in the metric's unit", () => {
  assertEquals(parseThreshold("25%", "totalTimeMs"), { pct: 25, abs: 0 });
  assertEquals(parseThreshold("+25%,10", "downtimeMs"), { pct: 25, abs: 10 });
  assertEquals(parseThreshold("10ms", "downtimeMs"), { pct: 0, abs: 10 });
  assertEquals(parseThreshold("5%,64KiB", "bytesTotal"), { pct: 5, abs: 65536 });
  assertEquals(parseThreshold({ pct: 5, abs: "1MiB" }, "bytesTotal"), { pct: 5, abs: 1048576 });
  assertEquals(parseThreshold(3, "rounds"), { pct: 0, abs: 3 });
  assertThrows(() => parseThreshold("lots", "rounds"), /not an amount/);
  assertThrows(() => parseThreshold("-5%", "rounds"), /not a percentage/);
  assertThrows(() => parseThreshold({ pct: 1, slack: 2 }, "rounds"), /unknown field slack/);
  assertThrows(() => parseThreshold("5%", "speed"), /Unknown metric "speed" \(known: passed, /);
});

Deno.test("a move beyond the larger of pct and abs is flagged; worse direction is a regression", () => {
  const t = { pct: 10, abs: 5 };
  assertEquals(judgeMove("totalTimeMs", 100, 109, t).flagged, false);
  const up = judgeMove("totalTimeMs", 100, 111, t);
  assertOk(up.flagged && up.regression, up.detail);
  assertEquals(up.delta, 11);
  assertEquals(up.allowed, 10);
  const down = judgeMove("totalTimeMs", 100, 80, t);
  assertOk(down.flagged && !down.regression, "faster is flagged, not a regression");
  // The absolute floor wins on small baselines.
  assertEquals(judgeMove("downtimeMs", 2, 6, t).flagged, false);
  // Higher is better for throughput and for the booleans.
  assertOk(judgeMove("throughputBytesPerSec", 100, 50, t).regression);
  assertOk(judgeMove("memoryEqual", 1, 0, { pct: 0, abs: 0 }).regression);
  assertOk(!judgeMove("memoryEqual", 0, 1, { pct: 0, abs: 0 }).regression);
  // No threshold: shown, never flagged; a value that disappears is a regression.
  assertEquals(judgeMove("iterations", 1, 100, null).flagged, false);
  assertOk(judgeMove("downtimeMs", 10, null, t).regression);
  assertEquals(judgeMove("downtimeMs", null, 10, t).flagged, false);
});

Deno.test("values are formatted with their unit", () => {
  assertEquals(formatValue(12.34, "ms"), "12.3 ms");
  assertEquals(formatValue(1234.5, "ms"), "1235 ms");
  assertEquals(formatValue(3 * 1024 * 1024, "bytes"), "3.00 MiB");
  assertEquals(formatValue(1, "bool"), "yes");
  assertEquals(formatValue(0.5, "bool"), "50% yes");
  assertEquals(formatValue(null, "ms"), "—");
});
