import { assertEquals, assertOk, assertThrows } from "../util/assert.ts";
import { defaultCurrent, diffRuns, selectRuns } from "./diff.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import { describeMachine } from "./machine.ts";
import { ResultsStore } from "./store.ts";

const C1 = "1111111111111111111111111111111111111111";
const C2 = "2222222222222222222222222222222222222222";

function seed(store: ResultsStore) {
  const add = (
    scenario: string,
    batch: string,
    commit: string,
    o: Omit<Parameters<typeof fixtureResult>[0], "scenario">,
  ) =>
    store.add(fixtureResult({ ...o, scenario }), {
      batch,
      kind: "ci",
      suite: "s",
      caseLabel: scenario,
      repeat: 0,
      scenario: { name: scenario },
      commit: { commit, dirty: false },
      machine: describeMachine(),
    });
  // Baseline commit: two repeats of "a" (medians 100 ms, 16 MiB), one "gone".
  add("a", "old", C1, { totalTimeMs: 90, bytes: 16 << 20 });
  add("a", "old", C1, { totalTimeMs: 110, bytes: 16 << 20 });
  add("gone", "old", C1, {});
  // Current commit: "a" slower and bigger, "fresh" new.
  add("a", "new", C2, { totalTimeMs: 300, bytes: 8 << 20, downtimeMs: 10 });
  add("fresh", "new", C2, {});
}

Deno.test("runs pair by scenario and mode; moves beyond thresholds are flagged, worse ones regress", () => {
  const store = ResultsStore.open(":memory:");
  seed(store);
  const d = diffRuns(store.list({ batch: "old" }), store.list({ batch: "new" }));
  assertEquals(d.pairs.length, 1);
  const p = d.pairs[0];
  assertEquals([p.scenario, p.mode], ["a", "real"]);
  assertEquals(p.baselineIds.sort(), [1, 2]);
  const by = Object.fromEntries(p.moves.map((m) => [m.metric, m]));
  assertEquals(by.totalTimeMs.baseline, 100);
  assertOk(by.totalTimeMs.regression, by.totalTimeMs.detail);
  assertOk(by.bytesTotal.flagged && !by.bytesTotal.regression, "fewer bytes is an improvement");
  assertEquals(by.downtimeMs.flagged, false);
  assertEquals(p.regressions.map((m) => m.metric), ["totalTimeMs"]);
  assertOk(d.regressed);
  assertEquals(d.onlyBaseline, ["gone (real)"]);
  assertEquals(d.onlyCurrent, ["fresh (real)"]);
  // Looser thresholds: nothing regresses.
  const loose = diffRuns(store.list({ batch: "old" }), store.list({ batch: "new" }), {
    totalTimeMs: { pct: 500, abs: 0 },
  });
  assertEquals(loose.regressed, false);
  store.close();
});

Deno.test("a selector names a run id, a batch or a commit prefix, and says when it is ambiguous or unknown", () => {
  const store = ResultsStore.open(":memory:");
  seed(store);
  assertEquals(selectRuns(store, "#2").kind, "run");
  assertEquals(selectRuns(store, "2").runs.map((r) => r.id), [2]);
  assertEquals(selectRuns(store, "old").runs.length, 3);
  const c = selectRuns(store, "2222");
  assertEquals([c.kind, c.value, c.runs.length], ["commit", C2, 2]);
  assertThrows(() => selectRuns(store, "99"), /No run has id 99/);
  assertThrows(
    () => selectRuns(store, "nothing"),
    /No run id, batch or commit .* matches "nothing"/,
  );
  store.add(fixtureResult({ scenario: "x" }), {
    batch: "z",
    kind: "ci",
    suite: "s",
    caseLabel: null,
    repeat: 0,
    scenario: { name: "x" },
    commit: { commit: "2222ffff", dirty: false },
    machine: describeMachine(),
  });
  assertThrows(() => selectRuns(store, "2222"), /Commit prefix 2222 is ambiguous/);
  store.close();
});

Deno.test("without a named current set, the newest other run, batch or commit is compared", () => {
  const store = ResultsStore.open(":memory:");
  seed(store);
  assertEquals(defaultCurrent(store, selectRuns(store, "1")).map((r) => r.id), [4]);
  assertEquals(defaultCurrent(store, selectRuns(store, "old")).map((r) => r.batch), ["new", "new"]);
  assertEquals(defaultCurrent(store, selectRuns(store, "1111")).map((r) => r.commit.commit), [
    C2,
    C2,
  ]);
  assertEquals(defaultCurrent(store, selectRuns(store, "new")).map((r) => r.batch), [
    "old",
    "old",
    "old",
  ]);
  store.close();
});
