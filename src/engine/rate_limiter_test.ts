import { assertEquals } from "../util/assert.ts";
import { RateLimiter } from "./rate_limiter.ts";

Deno.test("rate limiter: bytes since the start may not run ahead of the limit; lifted, nothing waits", () => {
  const l = new RateLimiter(1_000_000, 1000); // 1 MB/s from t = 1000 ms
  assertEquals(l.delayMs(100_000, 1000), 100, "100 KB are due 100 ms after the start");
  assertEquals(l.delayMs(100_000, 1100), 100, "the next 100 KB at 200 ms");
  assertEquals(l.delayMs(100_000, 1500), -200, "behind the limit: no wait");
  l.lift();
  assertEquals(l.bytesPerSec, 0);
  assertEquals(l.delayMs(10_000_000, 1500), 0);
  assertEquals(new RateLimiter(0, 0).delayMs(1e9, 0), 0, "0 is unlimited");
});
