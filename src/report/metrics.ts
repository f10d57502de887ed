/**
 * The metrics Ferry compares, declared once: how each is read from a
 * result, its unit, which direction is better, and the default threshold
 * beyond which a move between two runs is flagged. Also the statistics over
 * repeats (median, min, max) and the threshold arithmetic.
 *
 * A threshold allows a move of `max(pct % of the baseline, abs)` in either
 * direction; a larger move is flagged, as a regression when it goes the
 * worse way. Text form: `"25%"`, `"10"` (in the metric's unit; sizes such as
 * `"64KiB"` for bytes) or `"25%,10"` (whichever is larger).
 *
 * @example
 * ```ts
 * import { judgeMove, parseThreshold, summarize } from "./metrics.ts";
 * summarize([3, 1, 2]); // { n: 3, median: 2, min: 1, max: 3 }
 * const move = judgeMove("downtimeMs", 10, 30, parseThreshold("50%,5", "downtimeMs"));
 * console.log(move.flagged, move.regression); // true true
 * ```
 * @module
 */
import type { Result } from "../contract/types.ts";
import { formatBytes, parseSize } from "../util/size.ts";

/** Units a metric is measured in. */
export type MetricUnit = "ms" | "bytes" | "count" | "bool" | "bytes/s";

/** A threshold: a move larger than `max(pct % of the baseline, abs)` is flagged. */
export interface Threshold {
  /** Percentage of the baseline's magnitude (25 means 25 %), >= 0. */
  pct: number;
  /** Absolute amount, in the metric's unit (milliseconds, bytes, ...), >= 0. */
  abs: number;
}

/** One metric: how to read it from a result, and how to judge its moves. */
export interface MetricDecl {
  /** The key in results and reports: "totalTimeMs", "bytesTotal", ... */
  name: string;
  /** For people: "total time". */
  label: string;
  /** The unit its values are in ("bool": 1 yes, 0 no; a median of several runs may fall between). */
  unit: MetricUnit;
  /** Which direction is an improvement; a flagged move the other way is a regression. */
  better: "lower" | "higher";
  /** The value, or null when the run has none (no downtime: the guest never moved). */
  get: (r: Result) => number | null;
  /** Default threshold for `--compare-to`; null: shown, never flagged. */
  threshold: Threshold | null;
  /** Depends on the machine in real mode. */
  wall: boolean;
}

const bool = (v: boolean | null | undefined) => v === null || v === undefined ? null : v ? 1 : 0;

/** Every metric, in the order reports show them. */
export const METRICS: MetricDecl[] = [
  {
    name: "passed",
    label: "passed",
    unit: "bool",
    better: "higher",
    get: (r) => bool(r.passed),
    threshold: { pct: 0, abs: 0 },
    wall: false,
  },
  {
    name: "memoryEqual",
    label: "memory equal",
    unit: "bool",
    better: "higher",
    get: (r) => bool(r.memoryEqual),
    threshold: { pct: 0, abs: 0 },
    wall: false,
  },
  {
    name: "totalTimeMs",
    label: "total time",
    unit: "ms",
    better: "lower",
    get: (r) => r.totalTimeMs,
    threshold: { pct: 25, abs: 50 },
    wall: true,
  },
  {
    name: "downtimeMs",
    label: "downtime",
    unit: "ms",
    better: "lower",
    get: (r) => r.downtimeMs,
    threshold: { pct: 25, abs: 10 },
    wall: true,
  },
  {
    name: "setupTimeMs",
    label: "setup time",
    unit: "ms",
    better: "lower",
    get: (r) => r.setupTimeMs,
    threshold: null,
    wall: true,
  },
  {
    name: "bytesTotal",
    label: "bytes",
    unit: "bytes",
    better: "lower",
    get: (r) => r.bytes?.total ?? null,
    threshold: { pct: 5, abs: 64 * 1024 },
    wall: false,
  },
  {
    name: "pagesTotal",
    label: "pages",
    unit: "count",
    better: "lower",
    get: (r) => r.pages?.total ?? null,
    threshold: { pct: 5, abs: 16 },
    wall: false,
  },
  {
    name: "rounds",
    label: "rounds",
    unit: "count",
    better: "lower",
    get: (r) => typeof r.rounds === "number" ? r.rounds : null,
    threshold: { pct: 0, abs: 2 },
    wall: false,
  },
  {
    name: "iterations",
    label: "dirty-log syncs",
    unit: "count",
    better: "lower",
    get: (r) => r.iterations,
    threshold: null,
    wall: false,
  },
  {
    name: "throughputBytesPerSec",
    label: "throughput",
    unit: "bytes/s",
    better: "higher",
    get: (r) => r.totalTimeMs > 0 && r.bytes ? (r.bytes.total * 1000) / r.totalTimeMs : null,
    threshold: null,
    wall: true,
  },
];

/** Looks a metric up by name; throws RangeError listing the known names. */
export function metric(name: string): MetricDecl {
  const m = METRICS.find((d) => d.name === name);
  if (!m) {
    throw new RangeError(
      `Unknown metric "${name}" (known: ${METRICS.map((d) => d.name).join(", ")})`,
    );
  }
  return m;
}

/** Every metric of a result, by name. */
export function extractMetrics(r: Result): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const m of METRICS) {
    const v = m.get(r);
    out[m.name] = typeof v === "number" && Number.isFinite(v) ? v : null;
  }
  return out;
}

/** Median, min and max of some values. */
export interface Summary {
  /** How many finite values were summarized (at least 1). */
  n: number;
  /** The middle value; with an even count, the mean of the two middle ones. */
  median: number;
  /** The smallest value. */
  min: number;
  /** The largest value. */
  max: number;
}

/** Summarizes the finite values; null when there are none. */
export function summarize(values: (number | null | undefined)[]): Summary | null {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x))
    .sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { n: v.length, median, min: v[0], max: v[v.length - 1] };
}

/** Parses `"25%"`, `"10"`, `"64KiB"`, `"25%,10"` or `{ pct, abs }` for a metric. */
export function parseThreshold(value: unknown, metricName: string): Threshold {
  const m = metric(metricName);
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const { pct = 0, abs = 0, ...rest } = value as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) throw new RangeError(`unknown field ${extra[0]} (use pct and abs)`);
    if (typeof pct !== "number" || !(pct >= 0)) throw new RangeError("pct must be a number >= 0");
    const a = typeof abs === "string" ? absolute(abs, m) : abs;
    if (typeof a !== "number" || !(a >= 0)) throw new RangeError("abs must be a number >= 0");
    return { pct, abs: a };
  }
  if (typeof value === "number") return { pct: 0, abs: absolute(String(value), m) };
  if (typeof value !== "string" || !value.trim()) {
    throw new RangeError(
      `must be "25%", "10", "25%,10" or { pct, abs }, got ${JSON.stringify(value)}`,
    );
  }
  const t: Threshold = { pct: 0, abs: 0 };
  for (const part of value.split(",").map((p) => p.trim())) {
    if (part.endsWith("%")) {
      const pct = Number(part.slice(0, -1).replace(/^\+/, ""));
      if (!(pct >= 0)) throw new RangeError(`"${part}" is not a percentage >= 0`);
      t.pct = pct;
    } else t.abs = absolute(part, m);
  }
  return t;
}

function absolute(text: string, m: MetricDecl): number {
  const t = text.replace(/^\+/, "").replace(/ms$/, "");
  const v = m.unit === "bytes" ? parseSize(/^\d+(\.\d+)?$/.test(t) ? Number(t) : t) : Number(t);
  if (!(v >= 0)) throw new RangeError(`"${text}" is not an amount >= 0 of ${m.unit}`);
  return v;
}

/** How a metric moved between a baseline and a current value. */
export interface Move {
  /** The metric's name. */
  metric: string;
  /** The baseline's value, in the metric's unit (null: not measured). */
  baseline: number | null;
  /** The current value, in the metric's unit (null: not measured). */
  current: number | null;
  /** current - baseline (null when either is missing). */
  delta: number | null;
  /** Largest move allowed. */
  allowed: number | null;
  /**
   * The move exceeds the allowed one, or a value the baseline had is now missing (with a
   * threshold); never with a null threshold.
   */
  flagged: boolean;
  /** Flagged and in the worse direction. */
  regression: boolean;
  /** For people: "12.0 ms -> 30.0 ms (+150.0%), allowed ±6.0 ms". */
  detail: string;
}

/** Judges one metric's move against a threshold (null: never flagged). */
export function judgeMove(
  metricName: string,
  baseline: number | null,
  current: number | null,
  threshold: Threshold | null,
): Move {
  const m = metric(metricName);
  const base = { metric: m.name, baseline, current };
  if (baseline === null || current === null) {
    // A value that disappeared (memory unknown, no downtime) is a regression when it was known.
    const lost = baseline !== null && current === null && threshold !== null;
    return {
      ...base,
      delta: null,
      allowed: null,
      flagged: lost,
      regression: lost,
      detail: `${formatValue(baseline, m.unit)} -> ${formatValue(current, m.unit)}`,
    };
  }
  const delta = current - baseline;
  const allowed = threshold
    ? Math.max((threshold.pct / 100) * Math.abs(baseline), threshold.abs)
    : null;
  const flagged = allowed !== null && Math.abs(delta) > allowed;
  const worse = m.better === "lower" ? delta > 0 : delta < 0;
  const pct = baseline !== 0
    ? ` (${delta >= 0 ? "+" : ""}${((delta / Math.abs(baseline)) * 100).toFixed(1)}%)`
    : "";
  return {
    ...base,
    delta,
    allowed,
    flagged,
    regression: flagged && worse,
    detail: `${formatValue(baseline, m.unit)} -> ${formatValue(current, m.unit)}${pct}${
      allowed === null ? "" : `, allowed ±${formatValue(allowed, m.unit)}`
    }`,
  };
}

/** What reports show for a figure that was not measured (never 0). */
export const NOT_MEASURED = "—";

/** Formats a metric's value for people; a value that is missing shows as "—". */
export function formatValue(v: number | null | undefined, unit: MetricUnit): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NOT_MEASURED;
  switch (unit) {
    case "ms":
      return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;
    case "bytes":
      return formatBytes(v);
    case "bytes/s":
      return `${formatBytes(v)}/s`;
    case "bool":
      return v >= 1 ? "yes" : v <= 0 ? "no" : `${(v * 100).toFixed(0)}% yes`;
    default:
      return Number.isInteger(v) ? String(v) : v.toFixed(1);
  }
}
