import { assertEquals } from "../util/assert.ts";
import { BANDWIDTH_WINDOW_MS, BandwidthEstimator } from "./bandwidth_estimator.ts";

Deno.test("bandwidth estimator: the first measurement stands alone, then windows of at least the minimum", () => {
  const bw = new BandwidthEstimator();
  assertEquals(bw.bytesPerSec, 0, "nothing measured");
  bw.measure(0, 0);
  assertEquals(bw.bytesPerSec, 0, "no time spent: no estimate");
  bw.measure(1000, 10);
  assertEquals(bw.bytesPerSec, 100_000, "the first measurement, though short");
  bw.measure(9000, 10);
  assertEquals(bw.bytesPerSec, 100_000, "a short window accumulates, the estimate stays");
  bw.measure(40_000, BANDWIDTH_WINDOW_MS - 20);
  assertEquals(bw.bytesPerSec, 1_000_000, "50 KB over the 50 ms window");
  bw.measure(200_000, 100);
  assertEquals(bw.bytesPerSec, 2_000_000, "a new window: the last one's bytes are gone");
});
