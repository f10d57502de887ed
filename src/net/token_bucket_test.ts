import { assertEquals, assertOk, assertThrows } from "../util/assert.ts";
import { TokenBucket } from "./token_bucket.ts";

/** Sends `total` bytes in `chunk`-byte pieces as fast as the bucket allows; returns the end time. */
function drain(b: TokenBucket, total: number, chunk: number, t0: number): number {
  let t = t0;
  for (let sent = 0; sent < total; sent += chunk) {
    t += b.waitMs(t);
    b.take(chunk, t);
  }
  return t + b.waitMs(t);
}

Deno.test("token bucket: a long transfer goes at the rate, after one burst", () => {
  const rate = 12_500_000; // 100 Mbit/s
  const burst = 125_000;
  const b = new TokenBucket(rate, { burstBytes: burst, nowMs: 0 });
  const total = 64 * 1024 * 954; // about 5 s worth
  const end = drain(b, total, 64 * 1024, 0);
  const expected = ((total - burst) * 1000) / rate;
  assertOk(Math.abs(end - expected) < 1, `took ${end} ms, expected ${expected}`);
});

Deno.test("token bucket: a burst goes at once, then the debt is paid at the rate", () => {
  const b = new TokenBucket(1000, { burstBytes: 100, nowMs: 0 });
  b.take(100, 0);
  assertEquals(b.waitMs(0), 0);
  b.take(50, 0);
  assertEquals(b.waitMs(0), 50);
  assertEquals(b.waitMs(30), 20);
  // Idle time refills up to the burst, never beyond.
  assertEquals(b.waitMs(10_000), 0);
  b.take(150, 10_000);
  assertEquals(b.waitMs(10_000), 50);
});

Deno.test("token bucket: a rate change applies from that moment; 0 is unlimited", () => {
  const b = new TokenBucket(1000, { burstBytes: 10, nowMs: 0 });
  b.take(1010, 0); // 1000 bytes of debt: 1 s at 1000 B/s
  b.setRate(2000, 500); // half paid at the old rate; the rest at 2000 B/s
  assertEquals(b.waitMs(500), 250);
  b.setRate(0, 600);
  assertEquals(b.waitMs(600), 0);
  b.take(1_000_000, 600);
  assertEquals(b.waitMs(600), 0);
});

Deno.test("token bucket: bad rate or burst is refused", () => {
  assertThrows(() => new TokenBucket(-1, { burstBytes: 1, nowMs: 0 }), RangeError);
  assertThrows(() => new TokenBucket(1, { burstBytes: 0, nowMs: 0 }), RangeError);
});
