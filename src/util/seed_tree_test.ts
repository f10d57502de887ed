import { assertEquals, assertNotEquals, assertOk, assertThrows } from "./assert.ts";
import { SeedTree } from "./seed_tree.ts";

Deno.test("seed tree: a fork is stable, and adding a consumer changes no other stream", () => {
  const a = SeedTree.from(42);
  assertEquals(a.fork("fill").seed(), SeedTree.from(42).fork("fill").seed());
  const before = a.fork("link").prng().nextU32();
  a.fork("new-consumer").prng().nextU32();
  assertEquals(a.fork("link").prng().nextU32(), before);
  assertNotEquals(a.fork("fill").seed(), a.fork("link").seed());
  assertNotEquals(SeedTree.from(42).seed(), SeedTree.from(43).seed());
});

Deno.test("seed tree: 40-hex-digit seeds keep all their bits", () => {
  const base = "3f2a9c0d5e7b1a4c6d8e0f1a2b3c4d5e6f708192";
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    // Commits differing only in their last digits must not collapse.
    const commit = base.slice(0, 36) + i.toString(16).padStart(4, "0");
    seen.add(SeedTree.from(commit).fork("draw").seed());
  }
  assertEquals(seen.size, 200);
  for (let i = 0; i < 1000; i++) assertOk(Number.isSafeInteger(SeedTree.from(i).seed()));
});

Deno.test("seed tree: a numeric seed past 2^53 is refused", () => {
  assertThrows(() => SeedTree.from(2 ** 60), /below 2\^53/);
  assertThrows(() => SeedTree.from(1.5), /whole number/);
});
