/**
 * `deno task ci`: a tiny suite in real mode: no baseline (relative checks
 * skipped), then against a stored baseline it beats or misses; JUnit XML;
 * exit codes for a failed threshold and an invalid suite. The quick suite in
 * sim mode against its checked-in baseline: held as the code is, failed by a
 * deliberate regression; a missing baseline fails under CI=true; the
 * baseline file is written by --update-baseline. Output paths are checked
 * before anything runs.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";
import { describeMachine } from "../src/report/machine.ts";
import { ResultsStore } from "../src/report/store.ts";

const CLI = new URL("../src/report/ci_cli.ts", import.meta.url).pathname;

/** Runs the ci CLI; CI is "false" unless `env` says otherwise (the tests must not depend on where they run). */
async function ciWith(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { CI: "false", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const ci = (...args: string[]) => ciWith({}, ...args);

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
    // The relative checks were not judged: counted as skipped, not as passed.
    assertMatch(
      xml,
      /<testsuites name="ferry tiny-ci" tests="\d+" failures="0" errors="0" skipped="2"/,
    );
    assertMatch(
      xml,
      /<testsuite name="tiny-ci: ci-a \(real mode\)" tests="\d+" failures="0" errors="0" skipped="1"/,
    );
    assertMatch(
      xml,
      /name="bytesTotal vs baseline">\n\s*<skipped message="no baseline stored yet \(no batch of tiny-ci in real mode that all passed in /,
    );

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
    assertMatch(failed, /<testsuites [^>]* failures="2" errors="0" skipped="0"/);
    assertMatch(
      failed,
      /name="bytesTotal vs baseline">\n\s*<failure message="[\d.]+ MiB -&gt; [\d.]+ MiB \(\+\d+\.\d%\), allowed ±[^"]*" type="regression">bytesTotal vs baseline: /,
    );

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

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("ci quick in sim mode: held against the checked-in baseline; a deliberate regression makes it exit 1, so do a changed scenario and a missing figure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ci-sim-" });
  try {
    // As CI runs it: the suite by name, its baseline from ci/baselines/, CI=true.
    const held = await ciWith(
      { CI: "true" },
      "quick",
      "--mode",
      "sim",
      "--no-db",
      "--quiet",
      "--junit",
      `${dir}/held.xml`,
    );
    assertEquals(held.code, 0, held.stdout + held.stderr);
    assertMatch(
      held.stdout,
      /^suite quick: baseline ci\/baselines\/quick\.json \(6 runs, checked in\)$/m,
    );
    assertMatch(held.stdout, /^\d+ checks: \d+ held, 0 failed, 0 skipped, 0 harness errors$/m);
    assertMatch(held.stdout, /held: [^\n]*bytesTotal vs baseline, pagesTotal vs baseline/);
    assertMatch(
      await Deno.readTextFile(`${dir}/held.xml`),
      /<testsuites name="ferry quick" tests="\d+" failures="0" errors="0" skipped="0"/,
    );

    // A copy of the suite and its baseline, the baseline edited: quick-hotset sent one byte
    // fewer, so the code now sends one byte more than the baseline. Exact thresholds catch it.
    await Deno.mkdir(`${dir}/baselines`);
    const suite = JSON.parse(await Deno.readTextFile(`${ROOT}ci/quick.json`));
    await Deno.writeTextFile(`${dir}/quick.json`, JSON.stringify(suite));
    const base = JSON.parse(await Deno.readTextFile(`${ROOT}ci/baselines/quick.json`));
    base.scenarios["quick-hotset"].metrics.bytesTotal -= 1;
    await Deno.writeTextFile(`${dir}/baselines/quick.json`, JSON.stringify(base));
    const worse = await ciWith(
      { CI: "true" },
      `${dir}/quick.json`,
      "--mode",
      "sim",
      "--no-db",
      "--quiet",
      "--junit",
      `${dir}/worse.xml`,
    );
    assertEquals(worse.code, 1, worse.stdout + worse.stderr);
    assertMatch(
      worse.stdout,
      /^FAIL quick-hotset \(sim mode\)\n\s+FAIL bytesTotal vs baseline: [\d.]+ MiB -> [\d.]+ MiB \(\+0\.0%\), allowed ±0 B/m,
    );
    assertMatch(worse.stdout, /^ok {3}quick-counter \(sim mode\)$/m);
    assertMatch(worse.stdout, /^REGRESSED$/m);
    const xml = await Deno.readTextFile(`${dir}/worse.xml`);
    assertMatch(
      xml,
      /<testsuites name="ferry quick" tests="\d+" failures="1" errors="0" skipped="0"/,
    );
    assertMatch(
      xml,
      /<testsuite name="quick: quick-hotset \(sim mode\)" tests="\d+" failures="1" errors="0" skipped="0"/,
    );

    // Two scenarios of the copy: quick-idle's scenario is not the one the baseline was written
    // for, and the baseline has no figures for quick-zero.
    suite.scenarios = suite.scenarios.slice(0, 2);
    suite.scenarios[0].scenario.warmupMs += 10;
    await Deno.writeTextFile(`${dir}/quick.json`, JSON.stringify(suite));
    delete base.scenarios["quick-zero"];
    await Deno.writeTextFile(`${dir}/baselines/quick.json`, JSON.stringify(base));
    const stale = await ciWith(
      { CI: "true" },
      `${dir}/quick.json`,
      "--mode",
      "sim",
      "--no-db",
      "--quiet",
    );
    assertEquals(stale.code, 1, stale.stdout + stale.stderr);
    assertMatch(
      stale.stdout,
      /^FAIL quick-idle \(sim mode\)\n\s+FAIL totalTimeMs vs baseline, [^\n]*: the scenario is not the one the baseline \([^)]*baselines\/quick\.json\) was written for; if the change is meant, refresh it: deno task ci \S+quick\.json --update-baseline$/m,
    );
    assertMatch(
      stale.stdout,
      /^FAIL quick-zero \(sim mode\)\n\s+FAIL [^\n]*: the baseline \([^)]*\) has no figures for this scenario in sim mode; a missing baseline fails under CI=true/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ci --update-baseline writes a suite's sim baseline; with none, CI=true fails and a plain run skips (counted)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ci-update-" });
  try {
    const suite = `${dir}/one.json`, file = `${dir}/baselines/one.json`;
    await Deno.writeTextFile(
      suite,
      JSON.stringify({
        name: "one",
        mode: "sim",
        againstSimBaseline: { bytesTotal: "0", rounds: "0" },
        scenarios: [{
          scenario: {
            name: "one-idle",
            seed: 9,
            guest: { ram: "4MiB", fill: "random", workload: { kind: "idle" } },
            warmupMs: 10,
            settleMs: 10,
          },
          expect: { memoryEqual: true },
        }],
      }),
    );
    const missing = await ciWith({ CI: "true" }, suite, "--no-db", "--quiet");
    assertEquals(missing.code, 1, missing.stdout + missing.stderr);
    assertMatch(missing.stdout, /relative checks FAIL \(a baseline is required under CI=true\)/);
    assertMatch(
      missing.stdout,
      /FAIL bytesTotal vs baseline, rounds vs baseline: no baseline stored yet \(no file \S+baselines\/one\.json; --no-db\); a missing baseline fails under CI=true \(write one: deno task ci \S+one\.json --update-baseline\)/,
    );
    const local = await ci(suite, "--no-db", "--quiet", "--junit", `${dir}/j.xml`);
    assertEquals(local.code, 0, local.stdout + local.stderr);
    assertMatch(local.stdout, /\d+ checks: \d+ held, 0 failed, 2 skipped, 0 harness errors/);
    assertMatch(await Deno.readTextFile(`${dir}/j.xml`), /failures="0" errors="0" skipped="2"/);

    const written = await ci(suite, "--update-baseline", "--no-db", "--quiet");
    assertEquals(written.code, 0, written.stdout + written.stderr);
    assertMatch(
      written.stdout,
      /baseline \S+baselines\/one\.json: written \(1 scenarios, sim mode\); changed:\n {2}one-idle: new/,
    );
    const stored = JSON.parse(await Deno.readTextFile(file));
    assertEquals(Object.keys(stored.scenarios), ["one-idle"]);
    assertEquals(stored.mode, "sim");
    assertOk(stored.scenarios["one-idle"].metrics.bytesTotal > 4 * 1024 * 1024);
    const again = await ci(suite, "--update-baseline", "--no-db", "--quiet");
    assertMatch(again.stdout, /baseline \S+one\.json: unchanged/);
    assertEquals(
      JSON.parse(await Deno.readTextFile(file)),
      stored,
      "the same figures, byte for byte",
    );
    const judged = await ciWith({ CI: "true" }, suite, "--no-db", "--quiet");
    assertEquals(judged.code, 0, judged.stdout + judged.stderr);
    assertMatch(judged.stdout, /held: [^\n]*bytesTotal vs baseline, rounds vs baseline/);

    // A baseline the code beats: not a failure, but said, with the command that holds the gain.
    const looser = structuredClone(stored);
    looser.scenarios["one-idle"].metrics.bytesTotal += 4096;
    await Deno.writeTextFile(file, JSON.stringify(looser));
    const better = await ciWith({ CI: "true" }, suite, "--no-db", "--quiet");
    assertEquals(better.code, 0, better.stdout + better.stderr);
    assertMatch(
      better.stdout,
      /^ {7}better: bytes: [\d.]+ MiB -> [\d.]+ MiB \(-0\.1%\), allowed ±0 B$/m,
    );
    assertMatch(
      better.stdout,
      /^figures beat the checked-in baseline; refresh it so that they are held: deno task ci \S+one\.json --update-baseline$/m,
    );
    await Deno.writeTextFile(file, JSON.stringify(stored, null, 2) + "\n");

    // A run that fails its expectations writes no baseline.
    const strict = JSON.parse(await Deno.readTextFile(suite));
    strict.scenarios[0].expect.bytesMax = 1000;
    await Deno.writeTextFile(suite, JSON.stringify(strict));
    const before = await Deno.readTextFile(file);
    const refused = await ci(suite, "--update-baseline", "--no-db", "--quiet");
    assertEquals(refused.code, 1, refused.stdout + refused.stderr);
    assertMatch(
      refused.stdout,
      /baseline not written: every run must hold its expectations first:\n {2}one-idle: bytesMax: /,
    );
    assertEquals(await Deno.readTextFile(file), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ci checks every output path before anything runs: exit 2, one line, nothing left behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ci-paths-" });
  try {
    await Deno.writeTextFile(`${dir}/afile`, "x");
    const cases: [string[], RegExp][] = [
      [
        ["--junit", `${dir}/no/such/junit.xml`],
        /^ci: --junit \S+\/no\/such\/junit\.xml: the folder \S+\/no\/such does not exist\n$/,
      ],
      [["--junit", dir], /^ci: --junit \S+: is a folder, not a file\n$/],
      [
        ["--db", `${dir}/none/r.db`],
        /^ci: --db \S+\/none\/r\.db: the folder \S+\/none does not exist\n$/,
      ],
      [["--no-db", "--out", `${dir}/afile`], /^ci: --out \S+\/afile: is a file, not a folder\n$/],
      [
        ["--no-db", "--out", `${dir}/no/such/out`],
        /^ci: --out \S+: the folder \S+\/no\/such does not exist\n$/,
      ],
      [
        ["--no-db", "--update-baseline", "--mode", "real"],
        /^ci: --update-baseline writes sim-mode figures only/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = await ci("quick", ...args);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assertMatch(r.stderr, want);
      assertEquals(r.stdout, "", "nothing ran");
    }
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assertEquals(left, ["afile"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
