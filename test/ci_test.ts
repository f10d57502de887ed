/**
 * `deno task ci`: a tiny suite in real mode: no baseline (relative checks
 * skipped), then against a stored baseline it beats or misses; JUnit XML;
 * exit codes for a failed threshold and an invalid suite.
 * @module
 */
import { assertEquals, assertMatch } from "../src/util/assert.ts";
import { describeMachine } from "../src/report/machine.ts";
import { ResultsStore } from "../src/report/store.ts";

const CLI = new URL("../src/report/ci_cli.ts", import.meta.url).pathname;

async function ci(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const scenario = (name: string, seed: number) => ({
  name,
  seed,
  guest: {
    ram: "16MiB",
    fill: "random",
    workload: { kind: "hotset", dirtyRate: "16MiB/s", writeBytes: 256 },
  },
  warmupMs: 30,
  settleMs: 10,
});

const SUITE = {
  name: "tiny-ci",
  mode: "real",
  againstBaseline: { bytesTotal: "10%" },
  scenarios: [
    { scenario: scenario("ci-a", 1), expect: { memoryEqual: true, downtimeMsMax: 2000 } },
    { scenario: scenario("ci-b", 2), expect: { memoryEqual: true } },
  ],
};

Deno.test("ci: runs a suite, judges it against the stored baseline, writes JUnit and exits non-zero on a regression", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ci-" });
  try {
    const suite = `${dir}/suite.json`, db = `${dir}/r.db`, junit = `${dir}/junit.xml`;
    await Deno.writeTextFile(suite, JSON.stringify(SUITE));

    const first = await ci(suite, "--db", db, "--junit", junit);
    assertEquals(first.code, 0, first.stdout + first.stderr);
    assertMatch(first.stdout, /baseline: none/);
    assertMatch(first.stdout, /no baseline stored yet: relative checks skipped/);
    assertMatch(first.stdout, /^ok {3}ci-a \(real mode\)$/m);
    assertMatch(first.stdout, /^PASSED$/m);
    const xml = await Deno.readTextFile(junit);
    assertMatch(xml, /<testsuite name="tiny-ci" tests="2" failures="0"/);
    assertMatch(xml, /skip bytesTotal vs baseline: no baseline stored yet/);

    // The first batch is now the baseline; the same code holds it.
    const second = await ci(suite, "--db", db, "--quiet");
    assertEquals(second.code, 0, second.stdout + second.stderr);
    assertMatch(second.stdout, /suite tiny-ci: baseline batch \d{8}-\d{6}-[0-9a-f]{4} \(2 runs\)/);
    assertMatch(
      second.stdout,
      /held: outcome, memoryEqual, cleanup, downtimeMsMax, bytesTotal vs baseline/,
    );

    // A stored baseline that sent a tenth of the bytes: the suite regressed.
    const store = ResultsStore.open(db);
    const runs = store.list({ order: "oldest", limit: 2 }, { withProgress: true });
    for (const r of runs) {
      store.add({
        ...r.result,
        bytes: { ...r.result.bytes!, total: Math.round(r.result.bytes!.total / 10) },
      }, {
        batch: "tight",
        kind: "ci",
        suite: "tiny-ci",
        caseLabel: r.caseLabel,
        repeat: 0,
        scenario: r.scenario,
        commit: r.commit,
        machine: describeMachine(),
      });
    }
    store.close();
    const third = await ci(suite, "--db", db, "--baseline", "tight", "--junit", junit, "--quiet");
    assertEquals(third.code, 1, third.stdout + third.stderr);
    assertMatch(
      third.stdout,
      /^FAIL ci-a \(real mode\)\n\s+FAIL bytesTotal vs baseline: [\d.]+ MiB -> [\d.]+ MiB \(\+\d+\.\d%\)/m,
    );
    assertMatch(third.stdout, /^REGRESSED$/m);
    const failed = await Deno.readTextFile(junit);
    assertMatch(failed, /failures="2"/);
    assertMatch(failed, /<failure message="bytesTotal vs baseline" type="regression">/);

    // An absolute threshold that cannot hold.
    const strict = {
      ...SUITE,
      scenarios: [{ scenario: scenario("ci-a", 1), expect: { bytesMax: 1000 } }],
    };
    await Deno.writeTextFile(suite, JSON.stringify(strict));
    const fourth = await ci(suite, "--no-db", "--quiet");
    assertEquals(fourth.code, 1);
    assertMatch(fourth.stdout, /FAIL bytesMax: \d+ bytes, limit 1000/);

    // An invalid suite: exit 2, every problem named, nothing run.
    await Deno.writeTextFile(
      suite,
      JSON.stringify({
        name: "x",
        scenarios: [{ scenario: { name: "a", guest: { ram: "1Zib" } } }],
      }),
    );
    const bad = await ci(suite, "--no-db");
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /a: guest\.ram: /);
    const missing = await ci("no-such-suite");
    assertEquals(missing.code, 2);
    assertMatch(missing.stderr, /Suite "no-such-suite" not found: .*known: .*quick/s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
