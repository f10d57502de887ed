import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { buildComparison, type RunRecord } from "./comparison.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import { renderJunit, renderJunitCrash } from "./junit.ts";
import { describeMachine } from "./machine.ts";
import { ResultsStore } from "./store.ts";
import { type Baseline, baselineKey, findBaseline, scenarioSha256 } from "./baseline.ts";
import { formatVerdicts, judgeSuite, loadSuite, resolveSuite } from "./suite.ts";

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
  assertEquals(Object.keys(s.entries[0].againstBaseline.real), ["totalTimeMs", "bytesTotal"]);
  assertEquals(s.entries[1].againstBaseline.real, {
    totalTimeMs: { pct: 50, abs: 10 },
    downtimeMs: { pct: 0, abs: 1 },
  });
  // No againstSimBaseline: sim mode uses againstBaseline.
  assertEquals(s.entries[1].againstBaseline.sim, s.entries[1].againstBaseline.real);
  const quick = await loadSuite("quick");
  assertOk(quick.entries.length >= 4);
  assertEquals(quick.mode, "real");
  // The quick suite holds its sim-mode figures exactly.
  assertEquals(quick.entries[0].againstBaseline.sim.bytesTotal, { pct: 0, abs: 0 });
  assertEquals(quick.entries[0].againstBaseline.real.bytesTotal, { pct: 10, abs: 2 * 1024 * 1024 });
});

Deno.test("againstSimBaseline gives sim mode its own thresholds; an entry's own override the suite's", async () => {
  const s = await resolveSuite({
    name: "s",
    againstBaseline: { totalTimeMs: "100%,250", bytesTotal: "10%" },
    againstSimBaseline: { totalTimeMs: "0", bytesTotal: "0", rounds: "0" },
    scenarios: [
      { scenario: { name: "a" } },
      { scenario: { name: "b" }, againstSimBaseline: { rounds: "off", downtimeMs: "0" } },
      { scenario: { name: "c" }, againstBaseline: { totalTimeMs: "off" } },
    ],
  }, { path: "inline" });
  const exact = { pct: 0, abs: 0 };
  assertEquals(s.entries[0].againstBaseline.sim, {
    totalTimeMs: exact,
    bytesTotal: exact,
    rounds: exact,
  });
  assertEquals(s.entries[0].againstBaseline.real.totalTimeMs, { pct: 100, abs: 250 });
  assertEquals(s.entries[1].againstBaseline.sim, {
    totalTimeMs: exact,
    bytesTotal: exact,
    downtimeMs: exact,
  });
  // An entry with only againstBaseline: it applies in both modes.
  assertEquals(Object.keys(s.entries[2].againstBaseline.sim), ["bytesTotal", "rounds"]);
  assertEquals(Object.keys(s.entries[2].againstBaseline.real), ["bytesTotal"]);
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
  const baseline = findBaseline(store, { suite: "s", mode: "real" });
  assertEquals(baseline?.what, "batch base", "the newest batch whose runs all passed");
  assertEquals(findBaseline(store, { suite: "s", mode: "sim" }), null);

  const c = comparisonOf([
    record("one", { totalTimeMs: 160, bytes: 1040 }),
    record("two", { totalTimeMs: 105, downtimeMs: 10.5 }),
  ]);
  const r = judgeSuite(suite, c, { baseline });
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
    { baseline },
  );
  assertEquals(faster.passed, true);
  assertEquals(faster.verdicts[0].improvements.map((m) => m.metric), ["totalTimeMs"]);

  const none = judgeSuite(
    suite,
    comparisonOf([record("one", { totalTimeMs: 999 }), record("two")]),
    { baseline: null },
  );
  assertEquals(none.passed, true);
  assertOk(none.verdicts[0].checks.some((k) => k.skipped && /no baseline/.test(k.detail)));

  const failing = judgeSuite(
    suite,
    comparisonOf([record("one", { passed: false }), record("two")]),
  );
  assertEquals(failing.verdicts[0].checks.find((k) => !k.ok)?.name, "memoryEqual");
  store.close();
});

Deno.test("JUnit XML: a testsuite per scenario with its mode, a testcase per check; failures, harness errors and skipped checks counted apart, with messages", async () => {
  const suite = await resolveSuite(suiteDef, { path: "inline" });
  const crashed: RunRecord = {
    ...record("two"),
    result: null,
    error: 'Error: <bad> & "worse"\n    at x',
  };
  const r = judgeSuite(suite, comparisonOf([record("one", { passed: false }), crashed]));
  assertEquals(r.counts, { checks: 7, held: 1, failed: 1, skipped: 4, errors: 1 });
  const xml = renderJunit(r, "2025-01-01T00:00:00Z");
  assertMatch(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="ferry s" tests="7" failures="1" errors="1" skipped="4">/,
  );
  assertMatch(
    xml,
    /<testsuite name="s: one \(real mode\)" tests="4" failures="1" errors="0" skipped="2" time="0\.500" timestamp="2025-01-01T00:00:00Z">/,
  );
  // The crashed scenario reported no wall time: no time attribute, never 0.
  assertMatch(
    xml,
    /<testsuite name="s: two \(real mode\)" tests="3" failures="0" errors="1" skipped="2" timestamp=/,
  );
  assertMatch(
    xml,
    /<testcase classname="ferry\.s\.one \(real mode\)" name="memoryEqual">\n\s*<failure message="1 pages differ" type="expectation">memoryEqual: 1 pages differ<\/failure>/,
  );
  assertMatch(
    xml,
    /<testcase classname="ferry\.s\.one \(real mode\)" name="bytesTotal vs baseline">\n\s*<skipped message="no baseline stored yet"\/>/,
  );
  assertMatch(
    xml,
    /<testcase classname="ferry\.s\.two \(real mode\)" name="harness">\n\s*<error message="Error: &lt;bad&gt; &amp; &quot;worse&quot;" type="harness-crash">Error: &lt;bad&gt; &amp; &quot;worse&quot;\n {4}at x<\/error>/,
  );
  assertMatch(
    xml,
    /name="totalTimeMs vs baseline">\n\s*<skipped message="not judged: no run finished \(see the harness error\)"\/>/,
  );
  assertMatch(xml, /name="outcome">\n\s*<system-out>completed<\/system-out>/);
  assertMatch(xml, /<property name="baseline" value="none"\/>/);
  // Balanced elements.
  for (
    const tag of [
      "testsuites",
      "testsuite",
      "testcase",
      "failure",
      "error",
      "system-out",
      "properties",
    ]
  ) {
    assertEquals(xml.split(new RegExp(`<${tag}[ >]`)).length, xml.split(`</${tag}>`).length, tag);
  }
  // The totals are the sums of the testsuites'.
  for (const k of ["tests", "failures", "errors", "skipped"]) {
    const each = [...xml.matchAll(new RegExp(`<testsuite [^>]*${k}="(\\d+)"`, "g"))]
      .reduce((a, m) => a + Number(m[1]), 0);
    assertEquals(Number(new RegExp(`<testsuites [^>]*${k}="(\\d+)"`).exec(xml)![1]), each, k);
  }

  // A crash before any verdict is an error, not a missing file.
  const crash = renderJunitCrash("s", new Error("disk <full>"), {
    timestamp: "2025-01-01T00:00:00Z",
  });
  assertMatch(crash, /<testsuites name="ferry s" tests="1" failures="0" errors="1" skipped="0">/);
  assertMatch(crash, /<error message="Error: disk &lt;full&gt;" type="harness-crash">Error: disk/);
});

Deno.test("against a baseline: a missing one fails under requireBaseline, --no-baseline skips, a baseline of another scenario fails", async () => {
  const suite = await resolveSuite(suiteDef, { path: "inline" });
  const c = comparisonOf([record("one", { bytes: 1000 }), record("two")]);
  const names = (r: ReturnType<typeof judgeSuite>, label: string) =>
    r.verdicts.find((v) => v.label === label)!.checks;

  const required = judgeSuite(suite, c, { requireBaseline: true, refresh: "REFRESH" });
  assertEquals(required.passed, false);
  assertEquals(required.counts.skipped, 0);
  const missing = names(required, "one").find((k) => k.name === "bytesTotal vs baseline")!;
  assertEquals([missing.ok, missing.skipped], [false, false]);
  assertMatch(
    missing.detail,
    /no baseline stored yet; a missing baseline fails under CI=true \(write one: REFRESH\)/,
  );
  assertMatch(
    formatVerdicts(required),
    /relative checks FAIL \(a baseline is required under CI=true\)/,
  );

  const off = judgeSuite(suite, c, {
    requireBaseline: true,
    noBaselineReason: "--no-baseline: relative checks not judged",
  });
  assertEquals(off.passed, true);
  assertEquals(off.counts.skipped, 4);
  assertMatch(
    formatVerdicts(off),
    /no baseline \(--no-baseline: relative checks not judged\): relative checks skipped/,
  );
  assertMatch(formatVerdicts(off), /4 skipped/);

  const ran = (label: string) => ({
    ...suite.entries.find((e) => e.label === label)!.scenario,
    seed: 1,
    mode: "real" as const,
  });
  const metrics = { totalTimeMs: 100, bytesTotal: 1000, downtimeMs: 10 };
  const file = (sha: string): Baseline => ({
    what: "baselines/s.json",
    source: "file",
    runs: 1,
    cases: new Map([[baselineKey("one", "real"), { metrics, runs: 1, scenarioSha256: sha }]]),
  });
  const held = judgeSuite(suite, c, {
    baseline: file(scenarioSha256(ran("one"))),
    requireBaseline: true,
  });
  assertEquals(names(held, "one").filter((k) => k.kind === "baseline").map((k) => k.ok), [
    true,
    true,
  ]);
  // "two" has no figures in the file: under CI=true that fails, not skips.
  assertEquals(names(held, "two").filter((k) => k.kind === "baseline").map((k) => k.ok), [
    false,
    false,
  ]);
  assertMatch(names(held, "two").at(-1)!.detail, /has no figures for this scenario in real mode/);

  const stale = judgeSuite(suite, c, { baseline: file("0".repeat(64)), refresh: "REFRESH" });
  const k = names(stale, "one").find((x) => x.name === "bytesTotal vs baseline")!;
  assertEquals([k.ok, k.skipped], [false, false]);
  assertMatch(
    k.detail,
    /the scenario is not the one the baseline \(baselines\/s\.json\) was written for; if the change is meant, refresh it: REFRESH/,
  );
  assertMatch(
    formatVerdicts(stale),
    /FAIL totalTimeMs vs baseline, bytesTotal vs baseline: the scenario is not/,
  );
});
