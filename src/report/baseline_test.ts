import { assertEquals, assertMatch, assertOk, assertRejects } from "../util/assert.ts";
import {
  baselineFilePath,
  baselineFromRuns,
  baselineKey,
  readBaselineFile,
  renderBaselineFile,
  scenarioSha256,
} from "./baseline.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import { describeMachine } from "./machine.ts";
import { ResultsStore } from "./store.ts";

const scenario = { name: "a", seed: 3, mode: "sim" as const, guest: { ram: "16MiB" } };

Deno.test("a baseline file round-trips its figures; a figure not measured stays null, never 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-baseline-" });
  try {
    const path = `${dir}/s.json`;
    const text = renderBaselineFile("s", [{
      scenario,
      metrics: { totalTimeMs: 5.791023793103307, downtimeMs: null, bytesTotal: 4340 },
      runs: 1,
    }], { refresh: "deno task ci s --update-baseline" });
    assertEquals(
      renderBaselineFile("s", [{
        scenario,
        metrics: { totalTimeMs: 5.791023793103307, downtimeMs: null, bytesTotal: 4340 },
        runs: 1,
      }], { refresh: "deno task ci s --update-baseline" }),
      text,
      "stable text",
    );
    await Deno.writeTextFile(path, text);
    const b = (await readBaselineFile(path, "s", { what: "baselines/s.json" }))!;
    assertEquals([b.what, b.source, b.runs], ["baselines/s.json", "file", 1]);
    const c = b.cases.get(baselineKey("a", "sim"))!;
    assertEquals(c.metrics.totalTimeMs, 5.791023793103307);
    assertEquals(c.metrics.bytesTotal, 4340);
    assertEquals(c.metrics.downtimeMs, null);
    assertEquals(c.metrics.pagesTotal, null, "absent from the run: null");
    assertEquals(c.scenarioSha256, scenarioSha256(scenario));
    assertEquals(JSON.parse(text).scenarios.a.metrics.downtimeMs, null);
    assertEquals(await readBaselineFile(`${dir}/none.json`, "s"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an invalid baseline file is refused naming the file and every field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-baseline-" });
  try {
    const path = `${dir}/s.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        suite: "other",
        mode: "real",
        scenarios: {
          a: { scenarioSha256: "xyz", runs: 0, metrics: { bytesTotal: "lots", warp: 1 } },
          b: 3,
        },
      }),
    );
    const err = await readBaselineFile(path, "s").then(() => null, (e) => e);
    assertOk(err instanceof TypeError);
    for (
      const want of [
        /s\.json: invalid baseline file/,
        /suite: is "other", not the suite "s"/,
        /mode: must be "sim", got "real"/,
        /scenarios\.a\.scenarioSha256: must be 64 hex digits/,
        /scenarios\.a\.runs: must be a whole number >= 1/,
        /scenarios\.a\.metrics\.bytesTotal: must be a number or null/,
        /scenarios\.a\.metrics\.warp: unknown metric/,
        /scenarios\.b: must be an object/,
      ]
    ) assertMatch(err.message, want);
    await Deno.writeTextFile(path, "{ not json");
    await assertRejects(() => readBaselineFile(path, "s"), /s\.json: not valid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the scenario hash: key order, description and expectations do not count; seed and mode do", () => {
  const h = scenarioSha256(scenario);
  assertEquals(
    scenarioSha256({
      guest: { ram: "16MiB" },
      mode: "sim",
      expect: { bytesMax: 1 },
      description: "d",
      seed: 3,
      name: "a",
    }),
    h,
  );
  assertOk(scenarioSha256({ ...scenario, seed: 4 }) !== h);
  assertOk(scenarioSha256({ ...scenario, mode: "real" }) !== h);
  assertOk(scenarioSha256({ ...scenario, guest: { ram: "32MiB" } }) !== h);
  assertEquals(baselineFilePath("/x/ci/quick.json", "quick"), "/x/ci/baselines/quick.json");
  assertEquals(baselineFilePath("quick.json", "quick"), "./baselines/quick.json");
});

Deno.test("a stored baseline takes each metric's median per scenario and mode", () => {
  const store = ResultsStore.open(":memory:");
  const meta = {
    batch: "b",
    kind: "ci" as const,
    suite: "s",
    caseLabel: null,
    repeat: 0,
    scenario: { name: "a" },
    commit: { commit: null, dirty: null },
    machine: describeMachine(),
  };
  for (const t of [10, 30, 20]) store.add(fixtureResult({ scenario: "a", totalTimeMs: t }), meta);
  store.add({ ...fixtureResult({ scenario: "b", mode: "sim" }), bytes: null }, meta);
  const b = baselineFromRuns("batch b", store.list());
  store.close();
  assertEquals(b.runs, 4);
  assertEquals(b.cases.get(baselineKey("a", "real"))?.metrics.totalTimeMs, 20);
  assertEquals(b.cases.get(baselineKey("a", "real"))?.runs, 3);
  assertEquals(b.cases.get(baselineKey("b", "sim"))?.metrics.bytesTotal, null);
  assertEquals(b.cases.get(baselineKey("a", "sim")), undefined);
});
