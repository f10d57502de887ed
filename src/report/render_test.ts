import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { buildComparison, type RunRecord } from "./comparison.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import { renderHtml } from "./html.ts";
import { formatLive, LiveProgress } from "./live.ts";
import { renderMarkdown } from "./markdown.ts";
import { byteTicks, niceTicks } from "./svg.ts";

function comparison(mode: "real" | "sim" = "real") {
  const runs: RunRecord[] = [];
  const labels = ["precopy", "xbzrle", 'a <weird> & "label"'];
  labels.forEach((label, i) => {
    for (let r = 0; r < 3; r++) {
      runs.push({
        id: runs.length + 1,
        caseLabel: label,
        repeat: r,
        seed: 42,
        mode,
        result: fixtureResult({
          scenario: label,
          mode,
          totalTimeMs: 100 * (i + 1) + r * 10,
          rounds: 2 + i,
          downtimeMs: 5 + r,
        }),
      });
    }
  });
  runs.push({
    id: null,
    caseLabel: "crashy",
    repeat: 0,
    seed: 42,
    mode,
    result: null,
    error: "Error: boom\n at x",
  });
  return buildComparison({
    title: "capabilities",
    description: "Every capability alone",
    batch: "20250101-000000-abcd",
    repeat: 3,
    interleaved: true,
    commit: { commit: "0123456789abcdef", dirty: true },
    machine: null,
    createdAt: "2025-01-01T00:00:00Z",
  }, runs);
}

Deno.test("the Markdown table says the mode, seed, repeats and commit, and gives median (min–max)", () => {
  const md = renderMarkdown(comparison());
  assertMatch(md, /^## capabilities: real mode\n/);
  assertMatch(
    md,
    /real mode \(wall clock on this machine\) · seed 42 · 3 repeats per case, interleaved · commit 0123456789 with local changes/,
  );
  assertMatch(
    md,
    /\| precopy \| real \| 3\/3 \| yes \| 110 ms \(100 ms–120 ms\) \| 6\.0 ms \(5\.0 ms–7\.0 ms\) \|/,
  );
  assertMatch(md, /\| a <weird> & "label" \| real \| 3\/3 \|/);
  assertMatch(md, /\| crashy \| real \| 0\/1 \| unknown \| — \|/);
  assertMatch(
    md,
    /Failures:\n\n- crashy repeat 0 \(seed 42, real mode\): harness error: Error: boom\n/,
  );
  assertEquals(md.split("\n").filter((l) => l.startsWith("| ")).length, 2 + 4);
  assertMatch(renderMarkdown(comparison("sim")), /sim mode \(virtual time, deterministic\)/);
});

Deno.test("the HTML is self-contained, every figure names its mode, and it draws a line per case with a marker per round", () => {
  const c = comparison();
  const html = renderHtml(c);
  for (const banned of [/https?:/i, /<script/i, /\bsrc=/i, /<link/i, /@import/i, /url\(/i]) {
    assertOk(!banned.test(html), `found ${banned}`);
  }
  const figures = html.match(/<figure id="[^"]+">[\s\S]*?<\/figure>/g) ?? [];
  assertEquals(figures.map((f) => /id="([^"]+)"/.exec(f)![1]), [
    "fig-remaining",
    "fig-total-time",
    "fig-downtime",
    "fig-bytes",
  ]);
  for (const f of figures) {
    assertMatch(f, /<text class="chart-title"[^>]*>[^<]*\(real mode\)<\/text>/);
    assertMatch(f, /<figcaption>[^<]*Measured in real mode/);
  }
  const remaining = figures[0] ?? "";
  // One path per case that has runs with a result; the crashed case is in the legend with no data.
  assertEquals((remaining.match(/<path class="series"/g) ?? []).length, 3);
  assertMatch(remaining, /crashy \(no data\)/);
  // Markers: the median repeat's progress records: rounds + 1 per case (2+1, 3+1, 4+1).
  assertEquals((remaining.match(/class="marker"/g) ?? []).length, 3 + 4 + 5);
  assertEquals(
    (remaining.match(/<rect class="marker"/g) ?? []).length,
    3,
    "a square per stop-and-copy",
  );
  // Label text is escaped everywhere.
  assertOk(!html.includes("<weird>"));
  assertMatch(html, /a &#60;weird&#62; &#38; &#34;label&#34;/);
  // Bars: a bar per case with a value in each bar chart, whiskers where repeats differ.
  assertEquals((figures[1].match(/<rect class="bar"/g) ?? []).length, 3);
  assertEquals((figures[1].match(/class="whisker"/g) ?? []).length, 3);
  assertOk((figures[3].match(/<rect class="bar"/g) ?? []).length >= 3 * 2, "bytes stacked by kind");
  assertMatch(figures[3], /<text x="[\d.]+" y="[\d.]+">normal<\/text>/);
  assertMatch(html, /<p class="mode">Every figure on this page was measured in <strong>real mode/);
});

Deno.test("ticks are round numbers covering the range", () => {
  assertEquals(niceTicks(0, 97), [0, 20, 40, 60, 80, 100]);
  assertEquals(niceTicks(0, 0.9, 3), [0, 0.5, 1]);
  const b = byteTicks(17 * 1024 * 1024);
  assertEquals(b.ticks.map(b.label), ["0 MiB", "5 MiB", "10 MiB", "15 MiB", "20 MiB"]);
});

Deno.test("live progress rewrites one line per run on a terminal and logs plain lines otherwise", () => {
  const rec = fixtureResult({ scenario: "x", rounds: 2 });
  const p = rec.progress[1];
  const tty: string[] = [];
  const live = new LiveProgress({ isTerminal: true, columns: 60, write: (t) => tty.push(t) });
  live.start("xbzrle #1 (real)", 2, 9);
  live.log("guest running; warming up for 50 ms");
  live.progress(p);
  live.finish(rec);
  assertEquals(tty[0], "\r\x1b[K[3/9] xbzrle #1 (real): starting");
  assertOk(tty[1].startsWith("\r\x1b[K[3/9] xbzrle #1 (real): guest running; warming up"), tty[1]);
  assertOk(tty.every((t) => t === "\n" || t.length <= 60 + 4), "cut to the terminal width");
  assertEquals(tty.at(-1), "\n");
  assertMatch(tty.at(-2)!, /completed \| total 100 ms/);

  const plain: string[] = [];
  const log = new LiveProgress({ isTerminal: false, write: (t) => plain.push(t) });
  log.start("precopy #2 (sim)", 0, 1);
  log.log("ignored when not a terminal");
  log.progress(p);
  log.finish(null, "Error: boom\n at somewhere");
  assertEquals(plain, [
    "[1/1] precopy #2 (sim): starting\n",
    `[1/1] precopy #2 (sim): ${formatLive(p)}\n`,
    "[1/1] precopy #2 (sim): harness error: Error: boom\n",
  ]);
  assertMatch(
    formatLive(p),
    /^round 1 \| sent [\d.]+ MiB \| remaining 2\.00 MiB \| 477 MiB\/s \| ETA 4\.2 ms \| t 45\.0 ms$/,
  );
});

Deno.test("a figure no run measured shows as —, never 0: bytes, pages and rounds not reported", () => {
  const lost = {
    ...fixtureResult({ scenario: "lost", downtimeMs: null }),
    bytes: null,
    pages: null,
  };
  delete lost.rounds;
  const known = fixtureResult({ scenario: "known" });
  const c = buildComparison({
    title: "t",
    description: "",
    batch: null,
    repeat: 1,
    interleaved: true,
    commit: { commit: null, dirty: null },
    machine: {
      hostname: "h",
      os: "linux",
      arch: "x86_64",
      cpuModel: "cpu",
      cpus: null,
      memoryBytes: null,
      deno: "2",
      v8: "1",
      loadAvg1: null,
    },
    createdAt: "2025-01-01T00:00:00Z",
  }, [
    { id: 1, caseLabel: "lost", repeat: 0, seed: 1, mode: "sim", result: lost },
    { id: 2, caseLabel: "known", repeat: 0, seed: 1, mode: "sim", result: known },
  ]);
  assertEquals(c.cases[0].stats.bytesTotal, null);
  assertEquals(c.cases[0].stats.pagesTotal, null);
  const md = renderMarkdown(c);
  // total time, downtime, bytes, rounds, throughput
  assertMatch(md, /\| lost \| sim \| 1\/1 \| yes \| 100 ms \| — \| — \| — \| — \|/);
  assertMatch(md, /· cpu, linux x86_64, deno 2\./, "no CPU count or memory made up");
  const html = renderHtml(c);
  const bytes = /<figure id="fig-bytes">[\s\S]*?<\/figure>/.exec(html)![0];
  assertEquals((bytes.match(/<rect class="bar"[^>]*><title>lost: /g) ?? []).length, 0);
  assertOk((bytes.match(/<rect class="bar"[^>]*><title>known: /g) ?? []).length >= 2);
  assertMatch(bytes, />— \(not measured\)<\/text>/);
  const downtime = /<figure id="fig-downtime">[\s\S]*?<\/figure>/.exec(html)![0];
  assertMatch(downtime, />— \(not measured\)<\/text>/);
  const plain: string[] = [];
  const live = new LiveProgress({ isTerminal: false, write: (t) => plain.push(t) });
  live.start("lost", 0, 1);
  live.finish(lost);
  assertMatch(plain[1], /downtime — \| bytes not measured \| rounds not measured \|/);
  assertOk(
    !/\b0 B\b|\b0 rounds\b/.test(md + html + plain.join("")),
    "no zero stands in for a figure",
  );
});
