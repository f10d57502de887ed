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
