import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { buildComparison, type RunRecord } from "./comparison.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import { renderJunit } from "./junit.ts";
import { describeMachine } from "./machine.ts";
import { ResultsStore } from "./store.ts";
import { findBaseline, formatVerdicts, judgeSuite, loadSuite, resolveSuite } from "./suite.ts";

const suiteDef = {
  name: "s",
  againstBaseline: { totalTimeMs: "50%,10", bytesTotal: "5%" },
  scenarios: [
    { scenario: { name: "one", guest: { ram: "16MiB" } }, expect: { bytesMax: 100 } },
    {
      scenario: { name: "two", guest: { ram: "16MiB" } },
      set: { "guest.workload.kind": "idle" },
      againstBaseline: { bytesTotal: "off", downtimeMs: "0%,1" },
    },
  ],
};

Deno.test("a suite resolves its scenarios, merges expect and per-scenario thresholds", async () => {
  const s = await resolveSuite(suiteDef, { path: "inline" });
  assertEquals(s.entries.map((e) => e.label), ["one", "two"]);
  assertEquals(s.entries[0].scenario.expect, { bytesMax: 100 });
  assertEquals(s.entries[1].scenario.guest?.workload, { kind: "idle" });
  assertEquals(Object.keys(s.entries[0].againstBaseline), ["totalTimeMs", "bytesTotal"]);
  assertEquals(s.entries[1].againstBaseline, {
    totalTimeMs: { pct: 50, abs: 10 },
    downtimeMs: { pct: 0, abs: 1 },
  });
  const quick = await loadSuite("quick");
  assertOk(quick.entries.length >= 4);
  assertEquals(quick.mode, "real");
});

Deno.test("an invalid suite lists every problem with its field", async () => {
  const err = await resolveSuite({
    name: "s",
    speed: 1,
    againstBaseline: { warpFactor: "5%" },
    scenarios: [
      { scenario: { name: "a" }, expect: 3 },
      { scenario: { name: "a" }, againstBaseline: { downtimeMs: "lots" } },
      { scenario: "no-such-scenario" },
      { colour: 1, scenario: { name: "b" } },
    ],
  }, { path: "s.json" }).then(() => null, (e) => e);
  assertOk(err instanceof TypeError);
  for (
    const want of [
      /^s\.json: invalid suite/,
      /speed: unknown field/,
      /againstBaseline\.warpFactor: Unknown metric/,
      /scenarios\[0\]\.expect: must be an object/,
      /scenarios\[1\]: two scenarios are named "a"/,
      /scenarios\[1\]\.againstBaseline\.downtimeMs: "lots" is not an amount/,
      /scenarios\[2\]\.scenario: Scenario "no-such-scenario" not found/,
      /scenarios\[3\]\.colour: unknown field/,
    ]
  ) assertMatch(err.message, want);
});

function comparisonOf(runs: RunRecord[]) {
  return buildComparison(
    {
      title: "s",
      description: "",
      batch: "now",
      repeat: 1,
      interleaved: true,
      commit: { commit: "c0ffee", dirty: false },
      machine: null,
      createdAt: "2025-01-01T00:00:00Z",
    },
    runs,
    ["one", "two"],
  );
}

const record = (
  label: string,
  o: Omit<Parameters<typeof fixtureResult>[0], "scenario"> = {},
): RunRecord => ({
  id: null,
  caseLabel: label,
  repeat: 0,
  seed: 1,
  mode: "real",
  result: fixtureResult({ scenario: label, ...o }),
});

Deno.test("judging: expectations and moves against the baseline; no baseline skips, never fails", async () => {
  const suite = await resolveSuite(suiteDef, { path: "inline" });
  const store = ResultsStore.open(":memory:");
  const meta = (batch: string) => ({
    batch,
    kind: "ci" as const,
    suite: "s",
    caseLabel: null,
    repeat: 0,
    scenario: { name: "x" },
    commit: { commit: "abc", dirty: false },
    machine: describeMachine(),
  });
  store.add(fixtureResult({ scenario: "one", totalTimeMs: 100, bytes: 1000 }), meta("base"));
  store.add(fixtureResult({ scenario: "two", totalTimeMs: 100, downtimeMs: 10 }), meta("base"));
  store.add(fixtureResult({ scenario: "one", passed: false }), meta("broken"));
  const baseline = findBaseline(store, "s", "real");
  assertEquals(baseline?.what, "batch base", "the newest batch whose runs all passed");
  assertEquals(findBaseline(store, "s", "sim"), null);

  const c = comparisonOf([
    record("one", { totalTimeMs: 160, bytes: 1040 }),
    record("two", { totalTimeMs: 105, downtimeMs: 10.5 }),
  ]);
  const r = judgeSuite(suite, c, baseline);
  const one = r.verdicts[0], two = r.verdicts[1];
  assertEquals(one.passed, false);
  assertEquals(one.checks.filter((k) => !k.ok).map((k) => k.name), ["totalTimeMs vs baseline"]);
  assertEquals(two.passed, true);
  assertEquals(two.checks.map((k) => k.name), [
    "outcome",
    "memoryEqual",
    "totalTimeMs vs baseline",
    "downtimeMs vs baseline",
  ]);
  assertEquals(r.passed, false);
  assertMatch(
    formatVerdicts(r),
    /FAIL one \(real mode\)\n\s+FAIL totalTimeMs vs baseline: 100 ms -> 160 ms \(\+60\.0%\)/,
  );

  const faster = judgeSuite(
    suite,
    comparisonOf([record("one", { totalTimeMs: 20, bytes: 1000 }), record("two")]),
    baseline,
  );
  assertEquals(faster.passed, true);
  assertEquals(faster.verdicts[0].improvements.map((m) => m.metric), ["totalTimeMs"]);

  const none = judgeSuite(
    suite,
    comparisonOf([record("one", { totalTimeMs: 999 }), record("two")]),
    null,
  );
  assertEquals(none.passed, true);
  assertOk(none.verdicts[0].checks.some((k) => k.skipped && /no baseline/.test(k.detail)));

  const failing = judgeSuite(
    suite,
    comparisonOf([record("one", { passed: false }), record("two")]),
    null,
  );
  assertEquals(failing.verdicts[0].checks.find((k) => !k.ok)?.name, "memoryEqual");
  store.close();
});

Deno.test("JUnit XML has a testcase per scenario with its mode, failures with details, and escapes text", async () => {
  const suite = await resolveSuite(suiteDef, { path: "inline" });
  const crashed: RunRecord = {
    ...record("two"),
    result: null,
    error: 'Error: <bad> & "worse"\n    at x',
  };
  const r = judgeSuite(suite, comparisonOf([record("one", { passed: false }), crashed]), null);
  const xml = renderJunit(r, "2025-01-01T00:00:00Z");
  assertMatch(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="ferry" tests="2" failures="2"/,
  );
  assertMatch(xml, /<testcase classname="ferry\.s" name="one \(real mode\)" time="0\.500">/);
  assertMatch(
    xml,
    /<failure message="memoryEqual" type="regression">memoryEqual: 1 pages differ<\/failure>/,
  );
  assertMatch(
    xml,
    /<failure message="harness" type="regression">harness: Error: &lt;bad&gt; &amp; &quot;worse&quot;<\/failure>/,
  );
  assertMatch(xml, /<property name="baseline" value="none"\/>/);
  // Balanced elements.
  for (
    const tag of ["testsuites", "testsuite", "testcase", "failure", "system-out", "properties"]
  ) {
    assertEquals(xml.split(new RegExp(`<${tag}[ >]`)).length, xml.split(`</${tag}>`).length, tag);
  }
});
