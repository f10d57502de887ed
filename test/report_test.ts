/**
 * End to end: `deno task compare` on a tiny real-mode group (interleaved,
 * stored, reported), `deno task results` on what it stored, and the HTML
 * report opened in headless Chromium to check the plots are drawn. Without
 * Chromium the browser step is ignored, saying so, except under CI, where
 * it fails.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";
import { type Comparison, medianRun } from "../src/report/comparison.ts";
import { ResultsStore } from "../src/report/store.ts";
import { formatBytes } from "../src/util/size.ts";
import { chromiumRequired, findChromium, runChromium } from "./chromium.ts";
import { countColor, decodePng } from "./png.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CHROMIUM = await findChromium();
const CHROMIUM_MISSING = "chromium is not installed (Debian: apt-get install -y chromium)";

/** The commit `git rev-parse HEAD` names in the checkout, or null outside git. */
async function headCommit(): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", ROOT, "rev-parse", "HEAD"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null; // no git
  }
}

async function deno(script: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}${script}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const GROUP = {
  name: "tiny",
  description: "two downtime limits on a 16 MiB guest",
  base: {
    name: "tiny",
    seed: 11,
    guest: {
      ram: "16MiB",
      fill: "random",
      workload: { kind: "hotset", dirtyRate: "32MiB/s", writeBytes: 256 },
    },
    warmupMs: 50,
    settleMs: 20,
  },
  cases: [{ sweep: "migration.parameters.downtimeLimitMs", values: [2, 300] }],
};

/** Injected into a copy of the report: measures what the browser laid out and drew. */
const MEASURE = `<script>
const box = (e) => { const b = e.getBoundingClientRect(); return { x: b.x + scrollX, y: b.y + scrollY, w: b.width, h: b.height }; };
const bbox = (e) => { const b = e.getBBox(); return { w: b.width, h: b.height }; };
const figs = [...document.querySelectorAll("figure")];
const out = {
  scrollHeight: document.documentElement.scrollHeight,
  figures: figs.map((f) => ({
    id: f.id,
    rect: box(f.querySelector("svg")),
    title: f.querySelector(".chart-title").textContent,
    caption: f.querySelector("figcaption").textContent,
    bars: [...f.querySelectorAll("rect.bar")].map(bbox),
  })),
  series: [...document.querySelectorAll("#fig-remaining path.series")].map((p) => ({
    label: p.dataset.series, stroke: p.getAttribute("stroke"), length: p.getTotalLength(), ...bbox(p),
  })),
  markers: [...document.querySelectorAll("#fig-remaining .marker")].map(bbox),
};
document.body.insertAdjacentHTML("beforeend", '<pre id="ferry-' + 'measure">' + JSON.stringify(out) + "</pre>");
</script>`;

Deno.test("compare, results and the HTML report in headless Chromium", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-report-" });
  try {
    const groupFile = `${dir}/tiny.json`, db = `${dir}/results.db`, out = `${dir}/out`;
    await Deno.writeTextFile(groupFile, JSON.stringify(GROUP));

    await t.step(
      "compare runs the cases interleaved, stores every run and writes the reports",
      async () => {
        const r = await deno(
          "src/report/compare_cli.ts",
          groupFile,
          "--repeat",
          "2",
          "--mode",
          "real",
          "--out",
          out,
          "--db",
          db,
        );
        assertEquals(r.code, 0, r.stderr + r.stdout);
        // Not a terminal: plain lines, one per progress record, a start and an end per run.
        assertMatch(r.stdout, /^\[1\/4\] downtimeLimitMs=2 #1 \(real\): starting$/m);
        assertMatch(
          r.stdout,
          /^\[2\/4\] downtimeLimitMs=300 #1 \(real\): bulk, round 0 \| sent /m,
        );
        assertMatch(
          r.stdout,
          /^\[4\/4\] downtimeLimitMs=2 #2 \(real\): completed \| total /m,
        );
        assertOk(!r.stdout.includes("\r"), "no carriage returns when not a terminal");
        assertMatch(r.stdout, /## tiny: real mode/);
        assertMatch(r.stdout, /\| downtimeLimitMs=300 \| real \| 2\/2 \| yes \| /);
        const store = ResultsStore.open(db);
        const runs = store.list({ order: "oldest" }, { withProgress: true });
        store.close();
        assertEquals(runs.map((x) => [x.caseLabel, x.repeat]), [
          ["downtimeLimitMs=2", 0],
          ["downtimeLimitMs=300", 0],
          ["downtimeLimitMs=300", 1],
          ["downtimeLimitMs=2", 1],
        ]);
        for (const x of runs) {
          assertEquals([x.mode, x.seed, x.kind, x.suite], ["real", 11, "compare", "tiny"]);
          assertOk(x.result.progress.length >= 2, "progress series stored");
          assertEquals(x.result.progress.length, x.result.iterations, "every progress record");
          assertEquals(x.result.memoryEqual, true);
          assertEquals(x.metrics.bytesTotal, x.result.bytes!.total, "the metric is the result's");
          assertOk(x.metrics.bytesTotal! >= 16 * 1024 * 1024, "the guest went at least once");
          assertEquals(x.machine.cpus, navigator.hardwareConcurrency);
          assertEquals(x.commit.commit, await headCommit());
        }
        const md = await Deno.readTextFile(`${out}/report.md`);
        assertMatch(
          md,
          /real mode \(wall clock on this machine\) · seed 11 · 2 repeats per case, interleaved/,
        );
        const json: Comparison = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
        assertEquals(json.cases.map((k) => k.runs.length), [2, 2]);
      },
    );

    await t.step("results lists, shows, filters, reports and compares stored runs", async () => {
      const list = await deno(
        "src/report/results_cli.ts",
        "--db",
        db,
        "--case",
        "downtimeLimitMs=300",
      );
      assertEquals(list.code, 0, list.stderr);
      assertEquals(list.stdout.split("\n").filter((l) => /^\d+\s+\d{4}-/.test(l)).length, 2);
      assertMatch(list.stdout, /tiny\/downtimeLimitMs=300\s+real\s+11\s/);
      const one = await deno("src/report/results_cli.ts", "--db", db, "--run", "1");
      assertMatch(one.stdout, /^run 1: tiny\.downtimeLimitMs-2 \(real mode, seed 11\)/);
      assertMatch(one.stdout, /progress \(\d+ records\):\n {2}bulk, round 0 \| /);
      const rep = await deno(
        "src/report/results_cli.ts",
        "--db",
        db,
        "--suite",
        "tiny",
        "--out",
        `${dir}/stored`,
      );
      assertEquals(rep.code, 0, rep.stderr);
      assertMatch(await Deno.readTextFile(`${dir}/stored/report.html`), /<path class="series"/);

      // Two repeats of the converging case (runs 2 and 3, downtime limit 300 ms), timing
      // thresholds off: bytes and rounds hold. (The 2 ms case never converges: it runs until
      // its rounds run out, and its bytes follow the machine's speed, so its repeats differ.)
      const same = await deno(
        "src/report/results_cli.ts",
        "--db",
        db,
        "--compare-to",
        "2",
        "--to",
        "3",
        "--threshold",
        "totalTimeMs=off",
        "--threshold",
        "downtimeMs=off",
      );
      assertEquals(same.code, 0, same.stdout + same.stderr);
      assertMatch(
        same.stdout,
        /baseline: run 2; current: run 3\n {2}ok {4}tiny\.downtimeLimitMs-300 \(real mode\)/,
      );

      // A baseline that sent far fewer bytes: the current run regressed.
      const stored = JSON.parse(
        (await deno("src/report/results_cli.ts", "--db", db, "--run", "1", "--json")).stdout,
      );
      const fake = { ...stored.result, bytes: { ...stored.result.bytes, total: 1000 } };
      await Deno.writeTextFile(`${dir}/small.json`, JSON.stringify(fake));
      const imp = await deno(
        "src/report/results_cli.ts",
        "--db",
        db,
        "--import",
        `${dir}/small.json`,
      );
      assertMatch(imp.stdout, /small\.json: stored as run 5/);
      const worse = await deno(
        "src/report/results_cli.ts",
        "--db",
        db,
        "--compare-to",
        "5",
        "--to",
        "1",
      );
      assertEquals(worse.code, 1, worse.stdout + worse.stderr);
      // The current run's bytes, as it stored them (a real run: they vary with the machine).
      const sent = formatBytes(stored.result.bytes.total).replace(/[.()]/g, "\\$&");
      assertMatch(
        worse.stdout,
        new RegExp(
          `REGR {2}tiny\\.downtimeLimitMs-2 \\(real mode\\): runs 5 -> 1\\n\\s+worse {2}bytes: 1000 B -> ${sent}\\b`,
        ),
      );
      assertMatch(worse.stdout, /REGRESSED$/m);

      const bad = await deno("src/report/results_cli.ts", "--db", db, "--compare-to", "nothing");
      assertEquals(bad.code, 2);
      assertMatch(bad.stderr, /matches "nothing"/);
      const nodb = await deno("src/report/results_cli.ts", "--db", `${dir}/none.db`);
      assertEquals(nodb.code, 2);
      assertMatch(nodb.stderr, /no results database at .*none\.db/);
    });

    await t.step({
      name: CHROMIUM || chromiumRequired()
        ? "headless Chromium draws every plot"
        : `headless Chromium draws every plot: ignored, ${CHROMIUM_MISSING}`,
      ignore: !CHROMIUM && !chromiumRequired(),
      fn: async () => {
        const chromium = CHROMIUM;
        assertOk(chromium, `CI is set and ${CHROMIUM_MISSING}: the HTML report was not rendered`);
        const html = await Deno.readTextFile(`${out}/report.html`);
        const page = `${dir}/measure.html`;
        await Deno.writeTextFile(page, html.replace("</body>", `${MEASURE}\n</body>`));
        const dom = await runChromium(chromium, `file://${page}`, ["--dump-dom"]);
        const m = /<pre id="ferry-measure">([\s\S]*?)<\/pre>/.exec(dom);
        assertOk(m, "the measuring script ran");
        const text = m[1].replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"')
          .replaceAll("&amp;", "&");
        const got = JSON.parse(text);
        assertEquals(got.figures.map((f: { id: string }) => f.id), [
          "fig-remaining",
          "fig-total-time",
          "fig-downtime",
          "fig-bytes",
        ]);
        for (const f of got.figures) {
          assertMatch(f.title, /\(real mode\)$/);
          assertMatch(f.caption, /Measured in real mode/);
          assertOk(f.rect.w > 300 && f.rect.h > 100, `${f.id} laid out: ${JSON.stringify(f.rect)}`);
        }
        // A line per case, with length and extent.
        assertEquals(got.series.map((s: { label: string }) => s.label), [
          "downtimeLimitMs=2",
          "downtimeLimitMs=300",
        ]);
        for (const s of got.series) {
          assertOk(s.length > 100 && s.w > 50 && s.h > 50, JSON.stringify(s));
        }
        // A marker per progress record of each case's plotted (median) run.
        const report: Comparison = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
        const records = report.cases.reduce((a, k) => a + medianRun(k)!.result!.progress.length, 0);
        assertEquals(got.markers.length, records);
        for (const mk of got.markers) assertOk(mk.w >= 9 && mk.h >= 9, JSON.stringify(mk));
        // Bars with area in every bar chart.
        for (const f of got.figures.slice(1)) {
          assertOk(f.bars.length >= 2, `${f.id} has bars`);
          for (const b of f.bars) {
            assertOk(b.w >= 1 && b.h > 10, `${f.id} bar ${JSON.stringify(b)}`);
          }
        }

        // The pixels: each series' colour is on screen inside the plots.
        const height = Math.min(6000, got.scrollHeight + 40);
        const shot = `${dir}/shot.png`;
        await runChromium(chromium, `file://${dir}/out/report.html`, [
          `--screenshot=${shot}`,
          `--window-size=1000,${height}`,
          "--force-device-scale-factor=1",
        ]);
        const img = decodePng(await Deno.readFile(shot));
        assertEquals(img.width, 1000);
        const fig = (id: string) => got.figures.find((f: { id: string }) => f.id === id).rect;
        for (const s of got.series) {
          const inLine = countColor(img, s.stroke, fig("fig-remaining"));
          const inBars = countColor(img, s.stroke, fig("fig-total-time"));
          assertOk(inLine > 150, `${s.label} line drawn: ${inLine} px of ${s.stroke}`);
          assertOk(inBars > 300, `${s.label} bar drawn: ${inBars} px of ${s.stroke}`);
        }
        const keep = Deno.env.get("FERRY_KEEP_SCREENSHOT");
        if (keep) await Deno.copyFile(shot, keep);
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare checks its output paths before anything runs: exit 2, one line, nothing left behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-report-paths-" });
  try {
    const groupFile = `${dir}/tiny.json`;
    await Deno.writeTextFile(groupFile, JSON.stringify(GROUP));
    const cases: [string[], RegExp][] = [
      [
        ["--db", `${dir}/no/such/r.db`],
        /^compare: --db \S+\/no\/such\/r\.db: the folder \S+\/no\/such does not exist\n$/,
      ],
      [["--db", dir], /^compare: --db \S+: is a folder, not a file\n$/],
      [
        ["--no-db", "--out", groupFile],
        /^compare: --out \S+tiny\.json: is a file, not a folder\n$/,
      ],
      [
        ["--no-db", "--out", `${dir}/no/such/out`],
        /^compare: --out \S+\/no\/such\/out: the folder \S+\/no\/such does not exist\n$/,
      ],
      [["--db", `${dir}/r.db`, "--no-db"], /^compare: --db and --no-db exclude each other\n$/],
    ];
    for (const [args, want] of cases) {
      const r = await deno("src/report/compare_cli.ts", groupFile, "--mode", "sim", ...args);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assertMatch(r.stderr, want);
      assertEquals(r.stdout, "", "nothing ran");
    }
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assertEquals(left, ["tiny.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
