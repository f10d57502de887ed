/**
 * A comparison as a Markdown table, with the mode, seed, repeats, commit and
 * machine above it, so a pasted table never loses where its numbers came
 * from. With repeats, each cell is `median (min–max)`.
 *
 * @example
 * ```ts ignore
 * console.log(renderMarkdown(comparison));
 * ```
 * @module
 */
import type { CaseReport, Comparison } from "./comparison.ts";
import { machineLine } from "./machine.ts";
import { formatValue, metric, NOT_MEASURED, type Summary } from "./metrics.ts";

/** The metrics the table shows, in order. */
export const TABLE_METRICS = [
  "totalTimeMs",
  "downtimeMs",
  "bytesTotal",
  "rounds",
  "throughputBytesPerSec",
];

/** Describes the mode(s) for a caption: "real mode (wall clock on this machine)". */
export function modeText(modes: string[]): string {
  const one = (m: string) =>
    m === "sim"
      ? "sim mode (virtual time, deterministic)"
      : `${m} mode (wall clock on this machine)`;
  return modes.length ? modes.map(one).join(" and ") : "no runs";
}

/** One line about where the numbers come from. */
export function provenance(c: Comparison): string {
  const parts = [
    modeText(c.modes),
    `seed ${c.seeds.join(", ") || NOT_MEASURED}`,
    `${c.repeat} repeat${c.repeat === 1 ? "" : "s"} per case${
      c.interleaved && c.repeat > 1 ? ", interleaved" : ""
    }`,
    `commit ${c.commit.commit ? c.commit.commit.slice(0, 10) : "unknown"}${
      c.commit.dirty ? " with local changes" : ""
    }`,
  ];
  if (c.batch) parts.push(`batch ${c.batch}`);
  if (c.machine) parts.push(machineLine(c.machine));
  return parts.join(" · ");
}

/** A table cell: the value (the median), and `min–max` when the repeats differ. */
export interface Cell {
  text: string;
  range?: string;
}

/** Formats a summary as a cell ("—" when no run measured it). */
export function summaryCell(s: Summary | null, unit: Parameters<typeof formatValue>[1]): Cell {
  if (!s) return { text: NOT_MEASURED };
  const text = formatValue(s.median, unit);
  if (s.n === 1 || s.min === s.max) return { text };
  return { text, range: `${formatValue(s.min, unit)}–${formatValue(s.max, unit)}` };
}

/** A cell as one line of text: `median (min–max)`. */
export function cellText(c: Cell): string {
  return c.range ? `${c.text} (${c.range})` : c.text;
}

/** The table: a header and one row per case, as cells. */
export function tableRows(c: Comparison): { header: string[]; rows: Cell[][] } {
  const header = [
    "case",
    "mode",
    "passed",
    "memory equal",
    ...TABLE_METRICS.map((m) => metric(m).label),
  ];
  const rows = c.cases.map((k) => [
    { text: k.label },
    { text: k.mode },
    { text: `${k.passed}/${k.runs.length}` },
    { text: memoryCell(k) },
    ...TABLE_METRICS.map((m) => summaryCell(k.stats[m], metric(m).unit)),
  ]);
  return { header, rows };
}

function memoryCell(k: CaseReport): string {
  const known = k.runs.filter((r) => r.result && r.result.memoryEqual !== null);
  if (!known.length) return "unknown";
  const equal = known.filter((r) => r.result!.memoryEqual).length;
  return equal === known.length ? "yes" : `no (${known.length - equal} of ${known.length} differ)`;
}

/** Renders the comparison as Markdown. */
export function renderMarkdown(c: Comparison): string {
  const { header, rows } = tableRows(c);
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const lines = [
    `## ${c.title}: ${c.modes.join(" and ") || "no"} mode`,
    "",
    ...(c.description ? [c.description, ""] : []),
    provenance(c) + ".",
    "",
    c.repeat > 1 ? "Figures: median (min–max) over the repeats.\n" : "",
    `| ${header.map(esc).join(" | ")} |`,
    `| ${header.map((_, i) => (i < 4 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.map((cell) => esc(cellText(cell))).join(" | ")} |`),
  ];
  const problems = failureLines(c);
  if (problems.length) lines.push("", "Failures:", "", ...problems.map((p) => `- ${p}`));
  return lines.filter((l, i) => l !== "" || lines[i - 1] !== "").join("\n").trim() + "\n";
}

/** One line per run that crashed or failed an expectation, naming the case, repeat, seed and mode. */
export function failureLines(c: Comparison): string[] {
  return c.cases.flatMap((k) =>
    k.runs.flatMap((r) => {
      const where = `${k.label} repeat ${r.repeat} (seed ${r.seed}, ${r.mode} mode)`;
      if (!r.result) return [`${where}: harness error: ${(r.error ?? "").split("\n")[0]}`];
      return r.result.expectations.filter((e) => !e.ok).map((e) =>
        `${where}: ${e.name}: ${e.detail}`
      );
    })
  );
}
