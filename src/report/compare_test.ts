import type { RunOptions } from "../scenario/runner.ts";
import type { Result, Scenario } from "../contract/types.ts";
import { assertEquals, assertMatch, assertOk, assertRejects } from "../util/assert.ts";
import { runGroup, schedule } from "./compare.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import { resolveGroup } from "./group.ts";
import { ResultsStore } from "./store.ts";

Deno.test("the schedule interleaves: every repeat runs every case once, rotated, never one block per case", () => {
  const s = schedule(3, 3);
  assertEquals(s.map((x) => x.caseIndex), [0, 1, 2, 1, 2, 0, 2, 0, 1]);
  for (let r = 0; r < 3; r++) {
    assertEquals(s.filter((x) => x.repeat === r).map((x) => x.caseIndex).sort(), [0, 1, 2]);
  }
  // Each case runs first in some repeat, so no case always gets the cold start.
  assertEquals(new Set([0, 1, 2].map((r) => s[r * 3].caseIndex)), new Set([0, 1, 2]));
  assertEquals(schedule(1, 2), [{ caseIndex: 0, repeat: 0 }, { caseIndex: 0, repeat: 1 }]);
});

const group = () =>
  resolveGroup({
    name: "g",
    base: { name: "b", seed: 5, guest: { ram: "16MiB", workload: { kind: "idle" } } },
    cases: [{ sweep: "migration.parameters.downtimeLimitMs", values: [10, 20] }],
  }, { path: "inline" });

Deno.test("runGroup runs the plan in order with the mode and seed overrides, stores each run and summarizes", async () => {
  const calls: { name: string; seed?: number; mode?: string }[] = [];
  const run = (s: Scenario, o: RunOptions): Promise<Result> => {
    calls.push({ name: s.name, seed: o.seed, mode: o.mode });
    o.onProgress?.(fixtureResult({ scenario: s.name }).progress[0]);
    const limit = s.migration?.parameters?.downtimeLimitMs as number;
    return Promise.resolve(
      fixtureResult({
        scenario: s.name,
        seed: o.seed,
        mode: o.mode,
        totalTimeMs: limit * (calls.length),
      }),
    );
  };
  const store = ResultsStore.open(":memory:");
  const progress: string[] = [];
  const c = await runGroup(await group(), {
    repeat: 2,
    mode: "sim",
    varySeed: true,
    store,
    batch: "B",
    run,
    onProgress: (job, p) => progress.push(`${job.label}:${p.phase}`),
  });
  assertEquals(calls, [
    { name: "g.downtimeLimitMs-10", seed: 5, mode: "sim" },
    { name: "g.downtimeLimitMs-20", seed: 5, mode: "sim" },
    { name: "g.downtimeLimitMs-20", seed: 6, mode: "sim" },
    { name: "g.downtimeLimitMs-10", seed: 6, mode: "sim" },
  ]);
  assertEquals(progress[0], "downtimeLimitMs=10:bulk");
  assertEquals(c.modes, ["sim"]);
  assertEquals(c.seeds, [5, 6]);
  assertEquals(c.cases.map((k) => k.label), ["downtimeLimitMs=10", "downtimeLimitMs=20"]);
  // Case 10 ran 1st (10 ms) and 4th (40 ms); case 20 ran 2nd (40 ms) and 3rd (60 ms).
  assertEquals(c.cases[0].stats.totalTimeMs, { n: 2, median: 25, min: 10, max: 40 });
  assertEquals(c.cases[1].stats.totalTimeMs, { n: 2, median: 50, min: 40, max: 60 });
  const stored = store.list({ batch: "B", order: "oldest" });
  assertEquals(stored.map((r) => [r.caseLabel, r.repeat, r.seed, r.kind, r.suite]), [
    ["downtimeLimitMs=10", 0, 5, "compare", "g"],
    ["downtimeLimitMs=20", 0, 5, "compare", "g"],
    ["downtimeLimitMs=20", 1, 6, "compare", "g"],
    ["downtimeLimitMs=10", 1, 6, "compare", "g"],
  ]);
  assertEquals(stored[0].scenario.mode, "sim");
  store.close();
});

Deno.test("a harness crash in one run is recorded and the others still run", async () => {
  let n = 0;
  const c = await runGroup(await group(), {
    run: (s, o) => {
      if (n++ === 0) return Promise.reject(new Error("peer exploded"));
      return Promise.resolve(fixtureResult({ scenario: s.name, seed: o.seed }));
    },
  });
  assertEquals(c.cases.map((k) => [k.crashed, k.passed]), [[1, 0], [0, 1]]);
  assertMatch(c.cases[0].runs[0].error!, /peer exploded/);
  assertEquals(c.cases[0].stats.totalTimeMs, null);
});

Deno.test("an invalid case stops the group before anything runs, naming every case and field", async () => {
  const g = await resolveGroup({
    name: "g",
    base: { name: "b", guest: { ram: "16MiB" } },
    cases: [
      { label: "ok" },
      { label: "bad ram", set: { "guest.ram": "lots" } },
      { label: "bad param", set: { "migration.parameters.nope": 1 } },
    ],
  }, { path: "inline" });
  let ran = 0;
  await assertRejects(
    () => runGroup(g, { run: () => (ran++, Promise.reject(new Error("ran"))) }),
    (e: Error) => {
      assertOk(e instanceof TypeError);
      assertMatch(e.message, /bad ram: guest\.ram: /);
      assertMatch(e.message, /bad param: migration\.parameters\.nope: unknown parameter/);
      return true;
    },
  );
  assertEquals(ran, 0);
});
