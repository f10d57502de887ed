import { assertEquals, assertMatch, assertOk, assertThrows } from "../util/assert.ts";
import { seedStreams } from "./seed_streams.ts";
import { forgeChecksums, streamLayout } from "./stream_layout.ts";
import { runFuzz, summaryLine } from "./fuzzer.ts";
import { parseFuzzArgs } from "./fuzz_cli.ts";

Deno.test("fuzz: every seed walks, and forging an untouched seed leaves it byte for byte", async () => {
  const seeds = await seedStreams();
  assertOk(seeds.length >= 4, `${seeds.length} seeds`);
  for (const s of seeds) {
    const layout = streamLayout(s.bytes);
    assertOk(layout.crcs.length >= 2 || s.outcome !== "completed", s.name);
    const copy = s.bytes.slice();
    copy.fill(0, layout.crcs[0], layout.crcs[0] + 4);
    forgeChecksums(copy, layout);
    assertEquals(copy, s.bytes, `${s.name}: forged checksums differ from the writer's`);
  }
});

Deno.test("fuzz: the seed streams are the same bytes every time", async () => {
  const [a, b] = [await seedStreams(), await seedStreams()];
  assertEquals(a.map((s) => s.bytes), b.map((s) => s.bytes));
  assertEquals(a.map((s) => s.outcome).filter((o) => o === "completed").length, a.length - 1);
});

Deno.test("fuzz: a short seeded run finds no failure and many distinct refusals", async () => {
  const r = await runFuzz({ count: 5000, seed: 11, progressEvery: 1e9 });
  assertEquals(r.failures, []);
  assertEquals(r.streams, 5000);
  assertOk(r.signatures >= 50, `${r.signatures} signatures`);
  assertOk(r.allocatedBytesMax <= r.maxRamBytes);
  assertMatch(summaryLine(r), /^fuzz: 5000 streams, 0 failures, /);
});

Deno.test("fuzz: the command line takes --count and --seed, and refuses anything else", () => {
  const o = parseFuzzArgs(["--count", "12", "--seed", "34"]);
  assertEquals([o.count, o.seed], [12, 34]);
  assertThrows(() => parseFuzzArgs(["--count", "0"]));
  assertThrows(() => parseFuzzArgs(["--count", "1e6"]));
  assertThrows(() => parseFuzzArgs(["--seeds", "1"]));
});

Deno.test("fuzz: a mutant of a forged stream, or spliced with one, is judged as forged", async () => {
  const { mutate } = await import("./mutators.ts");
  const { Prng } = await import("../util/prng.ts");
  const [seed] = await seedStreams();
  const plain = { bytes: seed.bytes, seeds: [0], layout: null };
  const forged = { ...plain, forged: true };
  const prng = new Prng(5);
  for (let i = 0; i < 200; i++) {
    assertOk(mutate(prng, forged, [forged]).forged, "a descendant of a forged stream");
    const m = mutate(prng, plain, [forged]);
    if (m.how.includes("splice")) assertOk(m.forged, `spliced with a forged stream: ${m.how}`);
  }
  // Seed 0x1f4130b3 found six such descendants judged unforged before the lineage was kept.
  const r = await runFuzz({ count: 50_000, seed: 0x1f4130b3 });
  assertEquals(r.failures.length, 0, r.failures.map((f) => f.what).join("\n"));
});
