import { assertEquals, assertOk, assertThrows } from "./assert.ts";
import { inShard, parseShard, shardOf } from "./shard.ts";

Deno.test("shard: I/N is parsed and bad forms are refused with what is wrong", () => {
  assertEquals(parseShard("3/7"), { index: 3, count: 7 });
  for (const bad of ["0/3", "4/3", "1/0", "a/b", "1", "1/2/3", "-1/2", "1.5/2"]) {
    assertThrows(() => parseShard(bad), RangeError, bad);
  }
});

Deno.test("shard: every name is in exactly one shard, fixed by its name alone", () => {
  const names = Array.from({ length: 200 }, (_, i) => `case-${i}`);
  for (const n of [1, 2, 3, 7]) {
    for (const name of names) {
      const hits = Array.from({ length: n }, (_, i) => inShard(name, { index: i + 1, count: n }));
      assertEquals(hits.filter((h) => h).length, 1, `${name} in ${n} shards`);
    }
  }
  // Stable when cases are added: the shard of a name does not depend on the others.
  const before = names.map((name) => shardOf(name, 4));
  const more = [...names.slice(0, 100), "a-new-case", ...names.slice(100)];
  assertEquals(more.filter((x) => x !== "a-new-case").map((name) => shardOf(name, 4)), before);
  // SHA-256("case-0") starts 80540b17 (sha256sum agrees): 0x80540b17 % 1000 + 1 = 512. Pinned.
  assertEquals(shardOf("case-0", 1000), 512);
  // Roughly even: no shard of 4 holds fewer than 30 or more than 70 of 200 names.
  const counts = [1, 2, 3, 4].map((i) => before.filter((s) => s === i).length);
  assertOk(counts.every((c) => c >= 30 && c <= 70), `uneven: ${counts}`);
});
