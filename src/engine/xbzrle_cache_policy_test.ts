import { assertEquals } from "../util/assert.ts";
import { PAGE_SIZE } from "../contract/page.ts";
import { decodeXbzrle } from "./xbzrle.ts";
import { cacheSlots, XbzrleCachePolicy } from "./xbzrle_cache_policy.ts";

/** The cached copy of `page`, or null. */
function cached(p: XbzrleCachePolicy, page: number): Uint8Array | null {
  const s = p.slotOf(page);
  return s < 0 ? null : p.cache.data.slice(s * PAGE_SIZE, (s + 1) * PAGE_SIZE);
}

Deno.test("xbzrle cache policy: after the bulk pass; full pages go through the cache outside the last stage", () => {
  const p = new XbzrleCachePolicy({ cacheBytes: 4 * PAGE_SIZE, guestPages: 64, overflowBytes: 64 });
  assertEquals([p.appliesTo(0), p.appliesTo(1)], [false, true]);
  assertEquals([p.keepsCopies(0, false), p.keepsCopies(1, false), p.keepsCopies(1, true)], [
    false,
    true,
    false,
  ]);
  assertEquals(p.cache.slots, 4);
  assertEquals([cacheSlots(64 * PAGE_SIZE, 5), cacheSlots(1, 100)], [8, 1], "capped to the guest");
});

Deno.test("xbzrle cache policy: the cache always holds what the destination holds", () => {
  const p = new XbzrleCachePolicy({ cacheBytes: 4 * PAGE_SIZE, guestPages: 64, overflowBytes: 64 });
  const ram = new Uint8Array(2 * PAGE_SIZE);
  ram.fill(1, PAGE_SIZE);
  const dest = ram.slice(PAGE_SIZE); // what the destination holds of page 1 after a full send
  // A miss goes in full and is cached as sent.
  assertEquals(p.encode(1, ram, PAGE_SIZE, 1, false), -1);
  assertEquals(cached(p, 1), dest);
  // A hit: the delta, applied to the destination's copy, gives the page; the cache follows.
  ram[PAGE_SIZE + 100] = 9;
  const len = p.encode(1, ram, PAGE_SIZE, 2, false);
  assertEquals(len > 0, true);
  decodeXbzrle(p.delta.subarray(0, len), dest);
  assertEquals(dest, ram.slice(PAGE_SIZE));
  assertEquals(cached(p, 1), dest);
  // Unchanged: nothing to send.
  assertEquals(p.encode(1, ram, PAGE_SIZE, 3, false), 0);
  // An overflow goes in full, from the cache slot, which holds the page as read.
  ram.fill(7, PAGE_SIZE, PAGE_SIZE + 1000);
  assertEquals(p.encode(1, ram, PAGE_SIZE, 4, false), -1);
  assertEquals(cached(p, 1), ram.slice(PAGE_SIZE));
  // A zero page sent: the cached copy becomes zeros.
  p.zeroSent(1, 5);
  assertEquals(cached(p, 1), new Uint8Array(PAGE_SIZE));
  assertEquals(
    [p.stats.lookups, p.stats.misses, p.stats.unchanged, p.stats.overflows],
    [4, 1, 1, 1],
  );
});

Deno.test("xbzrle cache policy: the last stage encodes hits but leaves the cache alone", () => {
  const p = new XbzrleCachePolicy({ cacheBytes: 4 * PAGE_SIZE, guestPages: 64, overflowBytes: 64 });
  const ram = new Uint8Array(PAGE_SIZE).fill(3);
  assertEquals(p.encode(2, ram, 0, 1, true), -1, "a miss in the last stage");
  assertEquals(cached(p, 2), null, "is not cached");
  p.encode(2, ram, 0, 1, false);
  ram[5] = 4;
  const before = cached(p, 2);
  assertEquals(p.encode(2, ram, 0, 2, true) > 0, true, "a hit is encoded");
  assertEquals(cached(p, 2), before, "the cache is not updated");
});
