import { assertEquals, assertThrows } from "../util/assert.ts";
import { PAGE_SIZE } from "../guest/ram.ts";
import { PageCache } from "./page_cache.ts";

Deno.test("page cache: keyed by global page, direct-mapped on the low bits", () => {
  const c = new PageCache(8);
  assertEquals(c.lookup(3, 1), -1);
  assertEquals(c.insert(3, 1), 3);
  assertEquals(c.insert(12, 1), 4);
  assertEquals(c.lookup(3, 1), 3);
  assertEquals(c.lookup(11, 1), -1, "11 maps to slot 3 but is not the page there");
  assertEquals(c.slotOf(12), 4);
  assertEquals(c.slotOf(4), -1);
  assertEquals(c.used, 2);
  assertEquals(c.bytes, 8 * PAGE_SIZE);
  c.page(4).fill(9);
  assertEquals(c.data[4 * PAGE_SIZE], 9);
  assertEquals(c.data[5 * PAGE_SIZE], 0);
});

Deno.test("page cache: a page cached this round is not evicted by a colliding page of the same round, nor the next", () => {
  const c = new PageCache(4);
  assertEquals(c.insert(1, 5), 1);
  assertEquals(c.insert(5, 5), -1, "same generation");
  assertEquals(c.insert(5, 6), -1, "next generation (lifetime 2)");
  assertEquals(c.lookup(1, 6), 1, "still page 1; the hit refreshes its age to 6");
  assertEquals(c.insert(5, 7), -1, "protected until generation 8 after the hit");
  assertEquals(c.insert(5, 8), 1, "old enough: replaced");
  assertEquals(c.lookup(1, 8), -1);
  assertEquals(c.lookup(5, 8), 1);
  assertEquals(c.used, 1);
  // The same page is always re-inserted, whatever its age.
  assertEquals(c.insert(5, 8), 1);
  const one = new PageCache(4, { lifetime: 1 });
  one.insert(2, 3);
  assertEquals(one.insert(6, 3), -1);
  assertEquals(one.insert(6, 4), 2, "lifetime 1: only the same round is protected");
});

Deno.test("page cache: size must be a power-of-two number of pages", () => {
  for (const bad of [0, 3, 6, -4, 1.5]) {
    assertThrows(() => new PageCache(bad), /power-of-two number of pages/);
  }
  assertEquals(new PageCache(1).insert(123, 0), 0);
});
