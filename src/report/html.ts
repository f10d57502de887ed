/**
 * A comparison as one self-contained HTML file: the summary table, remaining
 * bytes against time for each case (a marker per round), and bars of total
 * time, downtime and bytes (by kind), with min–max whiskers over repeats.
 * Inline CSS and inline SVG only: no script, font, image or style sheet is
 * loaded from anywhere when it is viewed. Every figure's title says the mode
 * its numbers were measured in.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("report.html", renderHtml(comparison));
 * ```
 * @module
 */
import type { ProgressRecord } from "../contract/types.ts";
import { type CaseReport, type Comparison, medianRun } from "./comparison.ts";
import { failureLines, modeText, provenance, tableRows } from "./markdown.ts";
import { formatValue, NOT_MEASURED, type Summary } from "./metrics.ts";
import {
  barChart,
  type BarItem,
  byteTicks,
  esc,
  lineChart,
  type LinePoint,
  type LineSeries,
  niceTicks,
  seriesColor,
} from "./svg.ts";

/** Colours of the byte kinds in the bytes chart. */
const KIND_COLORS: Record<string, string> = {
  normal: "#0072b2",
  zero: "#56b4e9",
  xbzrle: "#e69f00",
  deflate: "#009e73",
  hash: "#cc79a7",
  overhead: "#999999",
};
const OTHER_KIND_COLORS = ["#d55e00", "#7b4ea3", "#333333", "#b8860b"];

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 24px auto; max-width: 960px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.mode { font-size: 15px; background: #fff6d6; border-left: 4px solid #e69f00; padding: 6px 10px; }
.provenance { color: #555; font-size: 12px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; white-space: nowrap; }
th:nth-child(-n+4), td:nth-child(-n+4) { text-align: left; }
figure { margin: 20px 0; }
figcaption { color: #555; font-size: 12px; max-width: 860px; }
svg.chart { display: block; max-width: 100%; height: auto; background: #fff; }
svg text { font: 12px system-ui, sans-serif; fill: #333; }
svg .chart-title { font-size: 14px; font-weight: 600; fill: #111; }
.fail { color: #b00020; }
td small { color: #666; font-size: 11px; }
`;

/** Renders the whole page. */
export function renderHtml(c: Comparison): string {
  const mode = modeText(c.modes);
  const short = `${c.modes.join(" and ") || "no"} mode`;
  const colors = new Map(c.cases.map((k, i) => [k.label, seriesColor(i)]));
  const { header, rows } = tableRows(c);
  const figures = [
    figure(
      "fig-remaining",
      remainingChart(c, colors, short),
      `Remaining bytes against time since migration start, one line per case: for each case the repeat with the median total time. A circle marks each round (dirty-log sync), a square the stop-and-copy; the line ends at zero when the migration completed. Measured in ${mode}.`,
    ),
    figure(
      "fig-total-time",
      metricBars(c, colors, "totalTimeMs", `Total time (${short})`, "milliseconds"),
      `Total migration time per case: bar at the median, whisker from min to max over ${c.repeat} repeat(s). Measured in ${mode}.`,
    ),
    figure(
      "fig-downtime",
      metricBars(c, colors, "downtimeMs", `Downtime (${short})`, "milliseconds"),
      `Downtime per case (source vCPU stop to destination vCPU resume): median, min–max whisker. Measured in ${mode}.`,
    ),
    figure(
      "fig-bytes",
      bytesChart(c, short),
      `Bytes sent per case, by kind of record (the run with the median total bytes), whisker from min to max total. Measured in ${mode}.`,
    ),
  ];
  const failures = failureLines(c);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ferry: ${esc(c.title)} (${esc(c.modes.join(" and "))} mode)</title>
<style>${CSS}</style>
</head>
<body>
<h1>Ferry comparison: ${esc(c.title)}</h1>
${c.description ? `<p>${esc(c.description)}</p>` : ""}
<p class="mode">Every figure on this page was measured in <strong>${esc(mode)}</strong>.</p>
<p class="provenance">${esc(provenance(c))}. Generated ${esc(c.createdAt)}.</p>
<h2>Summary${c.repeat > 1 ? ": median (min–max) over repeats" : ""}</h2>
<table class="summary">
<thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
<tbody>
${
    rows.map((r) =>
      `<tr>${
        r.map((v) =>
          `<td>${esc(v.text)}${v.range ? `<br><small>${esc(v.range)}</small>` : ""}</td>`
        ).join("")
      }</tr>`
    ).join("\n")
  }
</tbody>
</table>
${figures.join("\n")}
${
    failures.length
      ? `<h2 class="fail">Failures</h2>\n<ul class="fail">${
        failures.map((f) => `<li>${esc(f)}</li>`).join("")
      }</ul>`
      : ""
  }
</body>
</html>
`;
}

function figure(id: string, svg: string, caption: string): string {
  return `<figure id="${id}">\n${svg}\n<figcaption>${esc(caption)}</figcaption>\n</figure>`;
}

function remainingChart(c: Comparison, colors: Map<string, string>, mode: string): string {
  const series: LineSeries[] = c.cases.map((k) => {
    const run = medianRun(k);
    const r = run?.result;
    const points: LinePoint[] = (r?.progress ?? []).map((p: ProgressRecord) => ({
      x: p.timeMs,
      y: p.remainingBytes,
      marker: p.phase === "stop-and-copy" ? "square" as const : "circle" as const,
      title: `${k.label}: ${p.phase} round ${p.round} at ${
        formatValue(p.timeMs, "ms")
      }, remaining ${formatValue(p.remainingBytes, "bytes")}, sent ${
        formatValue(p.transferredBytes, "bytes")
      }`,
    }));
    if (r && r.outcome === "completed" && points.length) points.push({ x: r.totalTimeMs, y: 0 });
    return { label: k.label, color: colors.get(k.label)!, points };
  });
  return lineChart(series, {
    title: `Remaining bytes against time (${mode})`,
    xLabel: "time since migration start",
    yLabel: "remaining bytes",
    formatX: (v) => `${Number(v.toPrecision(6))} ms`,
    yTicks: (max) => byteTicks(max),
  });
}

function msTicks(max: number) {
  return { ticks: niceTicks(0, max), label: (v: number) => `${Number(v.toPrecision(6))} ms` };
}

function metricBars(
  c: Comparison,
  colors: Map<string, string>,
  name: string,
  title: string,
  xLabel: string,
): string {
  const items: BarItem[] = c.cases.map((k) => {
    const s = k.stats[name];
    return {
      label: k.label,
      segments: s
        ? [{
          name: `median ${formatValue(s.median, "ms")}`,
          value: s.median,
          color: colors.get(k.label)!,
        }]
        : [],
      ...whisker(s),
      valueText: s ? summaryText(s, "ms") : `${NOT_MEASURED} (not measured)`,
    };
  });
  return barChart(items, { title, xLabel, ticks: msTicks });
}

function bytesChart(c: Comparison, mode: string): string {
  const kinds: string[] = [];
  const byCase = c.cases.map((k) => {
    const run = medianBy(k, (r) => r.bytes ? r.bytes.total : null);
    // No run reported bytes: no bar at all, never a bar of zeros.
    const counters: Record<string, number> | null = run?.result?.bytes ?? null;
    for (const [kind, v] of Object.entries(counters ?? {})) {
      if (kind !== "total" && v > 0 && !kinds.includes(kind)) kinds.push(kind);
    }
    return { k, counters };
  });
  let extra = 0;
  const color = new Map(
    kinds.map((
      kind,
    ) => [kind, KIND_COLORS[kind] ?? OTHER_KIND_COLORS[extra++ % OTHER_KIND_COLORS.length]]),
  );
  const items: BarItem[] = byCase.map(({ k, counters }) => {
    const s = k.stats.bytesTotal;
    return {
      label: k.label,
      segments: counters
        ? kinds.filter((kind) => typeof counters[kind] === "number").map((kind) => ({
          name: kind,
          value: counters[kind],
          color: color.get(kind)!,
        }))
        : [],
      ...whisker(s),
      valueText: s ? summaryText(s, "bytes") : `${NOT_MEASURED} (not measured)`,
    };
  });
  return barChart(items, {
    title: `Bytes sent, by kind (${mode})`,
    xLabel: "bytes",
    ticks: (max) => byteTicks(max),
    legend: kinds.map((k) => ({ name: k, color: color.get(k)! })),
  });
}

function medianBy(
  k: CaseReport,
  f: (r: NonNullable<CaseReport["runs"][number]["result"]>) => number | null,
) {
  const done = k.runs.filter((r) => r.result && f(r.result) !== null)
    .sort((a, b) => f(a.result!)! - f(b.result!)!);
  return done[(done.length - 1) >> 1];
}

function whisker(s: Summary | null): { min?: number; max?: number } {
  return s && s.n > 1 ? { min: s.min, max: s.max } : {};
}

function summaryText(s: Summary, unit: "ms" | "bytes"): string {
  return s.n > 1 && s.min !== s.max
    ? `${formatValue(s.median, unit)} (${formatValue(s.min, unit)}–${formatValue(s.max, unit)})`
    : formatValue(s.median, unit);
}
