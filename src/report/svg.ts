/**
 * Inline SVG charts with no dependencies and nothing loaded from anywhere:
 * a line chart with markers (remaining bytes against time, a marker per
 * round) and a horizontal bar chart with stacked segments and min–max
 * whiskers (total time, downtime, bytes). Each chart carries its title,
 * which the caller makes say the mode the figures were measured in.
 *
 * @example
 * ```ts
 * import { niceTicks } from "./svg.ts";
 * console.log(niceTicks(0, 97)); // [0, 20, 40, 60, 80, 100]
 * ```
 * @module
 */

/** Colours for series (Okabe–Ito, told apart by most colour-blind readers). */
export const PALETTE = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#d55e00",
  "#cc79a7",
  "#56b4e9",
  "#7b4ea3",
  "#333333",
];

/** The colour of series `i`. */
export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** Escapes text for XML and HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Round tick values covering [min, max] with steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v < max + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  if (ticks[ticks.length - 1] < max) {
    ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  }
  return ticks;
}

/** Ticks for a byte axis, on whole KiB/MiB/GiB multiples, and their labels. */
export function byteTicks(
  max: number,
  count = 5,
): { ticks: number[]; label: (v: number) => string } {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let k = 0;
  while (k < units.length - 1 && max / 1024 ** (k + 1) >= 1) k++;
  const scale = 1024 ** k;
  const ticks = niceTicks(0, max / scale, count).map((t) => t * scale);
  return { ticks, label: (v) => `${Number((v / scale).toPrecision(4))} ${units[k]}` };
}

/** A point of a line series; `marker` draws a marker there (`square` for stop-and-copy). */
export interface LinePoint {
  x: number;
  y: number;
  marker?: "circle" | "square";
  /** Tooltip. */
  title?: string;
}

/** A line series. */
export interface LineSeries {
  label: string;
  color: string;
  points: LinePoint[];
}

/** Common chart options. */
export interface ChartOptions {
  /** Shown at the top of the chart; say the mode here. */
  title: string;
  width?: number;
}

/** A line chart: one path and markers per series, axes with ticks, a legend on the right. */
export function lineChart(
  series: LineSeries[],
  options: ChartOptions & {
    xLabel: string;
    yLabel: string;
    formatX: (v: number) => string;
    yTicks: (max: number) => { ticks: number[]; label: (v: number) => string };
    height?: number;
  },
): string {
  const width = options.width ?? 900, height = options.height ?? 380;
  const m = { left: 84, right: 200, top: 36, bottom: 52 };
  const pw = width - m.left - m.right, ph = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  const xt = niceTicks(0, Math.max(1e-9, ...all.map((p) => p.x)));
  const yt = options.yTicks(Math.max(1, ...all.map((p) => p.y)));
  const xMax = xt[xt.length - 1], yMax = yt.ticks[yt.ticks.length - 1];
  const X = (v: number) => m.left + (v / xMax) * pw;
  const Y = (v: number) => m.top + ph - (v / yMax) * ph;
  const out: string[] = [
    `<svg class="chart line-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${
      esc(options.title)
    }">`,
    `<text class="chart-title" x="${m.left}" y="22">${esc(options.title)}</text>`,
    ...gridAndAxes({ m, pw, ph, width, height }, {
      x: xt.map((t) => ({ at: X(t), label: options.formatX(t) })),
      y: yt.ticks.map((t) => ({ at: Y(t), label: yt.label(t) })),
      xLabel: options.xLabel,
      yLabel: options.yLabel,
    }),
  ];
  series.forEach((s, i) => {
    const pts = s.points;
    if (pts.length) {
      const d = pts.map((p, j) => `${j ? "L" : "M"}${X(p.x).toFixed(1)} ${Y(p.y).toFixed(1)}`).join(
        " ",
      );
      out.push(
        `<path class="series" data-series="${
          esc(s.label)
        }" d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5" stroke-linejoin="round"/>`,
      );
      for (const p of pts) {
        if (!p.marker) continue;
        const cx = X(p.x).toFixed(1), cy = Y(p.y).toFixed(1);
        const tip = p.title ? `<title>${esc(p.title)}</title>` : "";
        out.push(
          p.marker === "square"
            ? `<rect class="marker" x="${(+cx - 5).toFixed(1)}" y="${
              (+cy - 5).toFixed(1)
            }" width="10" height="10" fill="${s.color}" stroke="#fff" stroke-width="1">${tip}</rect>`
            : `<circle class="marker" cx="${cx}" cy="${cy}" r="5" fill="${s.color}" stroke="#fff" stroke-width="1">${tip}</circle>`,
        );
      }
    }
    const ly = m.top + 8 + i * 22;
    out.push(
      `<g class="legend-item"><rect x="${width - m.right + 16}" y="${
        ly - 9
      }" width="14" height="14" fill="${s.color}"/>`,
      `<text x="${width - m.right + 36}" y="${ly + 2}">${esc(truncate(s.label, 22))}${
        pts.length ? "" : " (no data)"
      }</text></g>`,
    );
  });
  const ly = m.top + 8 + series.length * 22 + 12;
  out.push(
    `<g class="legend-note"><circle cx="${
      width - m.right + 23
    }" cy="${ly}" r="5" fill="#777"/><text x="${width - m.right + 36}" y="${
      ly + 4
    }">round (dirty-log sync)</text>`,
    `<rect x="${width - m.right + 18}" y="${
      ly + 17
    }" width="10" height="10" fill="#777"/><text x="${width - m.right + 36}" y="${
      ly + 26
    }">stop-and-copy</text></g>`,
  );
  out.push("</svg>");
  return out.join("\n");
}

/** A bar: stacked segments (one segment for a plain bar), and a min–max whisker. */
export interface BarItem {
  label: string;
  segments: { name: string; value: number; color: string }[];
  min?: number;
  max?: number;
  /** Text at the end of the bar. */
  valueText: string;
}

/** A horizontal bar chart: one bar per item, labels on the left, values at the end of the bars. */
export function barChart(
  items: BarItem[],
  options: ChartOptions & {
    xLabel: string;
    ticks: (max: number) => { ticks: number[]; label: (v: number) => string };
    legend?: { name: string; color: string }[];
  },
): string {
  const width = options.width ?? 900;
  const bar = 24, gap = 12;
  const legendRows = options.legend?.length ? 1 : 0;
  const m = { left: 190, right: 150, top: 36 + legendRows * 22, bottom: 50 };
  const ph = Math.max(1, items.length) * (bar + gap);
  const height = m.top + ph + m.bottom;
  const pw = width - m.left - m.right;
  const top = Math.max(
    1e-9,
    ...items.map((it) =>
      it.max === undefined ? sum(it.segments) : Math.max(it.max, sum(it.segments))
    ),
  );
  const xt = options.ticks(top);
  const xMax = xt.ticks[xt.ticks.length - 1];
  const X = (v: number) => m.left + (v / xMax) * pw;
  const out: string[] = [
    `<svg class="chart bar-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${
      esc(options.title)
    }">`,
    `<text class="chart-title" x="12" y="22">${esc(options.title)}</text>`,
    ...gridAndAxes({ m, pw, ph, width, height }, {
      x: xt.ticks.map((t) => ({ at: X(t), label: xt.label(t) })),
      y: [],
      xLabel: options.xLabel,
      yLabel: "",
    }),
  ];
  (options.legend ?? []).forEach((l, i) => {
    const lx = m.left + i * 120;
    out.push(
      `<g class="legend-item"><rect x="${lx}" y="${
        36 - 2
      }" width="14" height="14" fill="${l.color}"/><text x="${lx + 20}" y="${36 + 10}">${
        esc(l.name)
      }</text></g>`,
    );
  });
  items.forEach((it, i) => {
    const y = m.top + i * (bar + gap) + gap / 2;
    out.push(
      `<text class="bar-label" x="${m.left - 8}" y="${y + bar / 2 + 4}" text-anchor="end">${
        esc(truncate(it.label, 26))
      }</text>`,
    );
    let at = 0;
    for (const s of it.segments) {
      if (!(s.value > 0)) continue;
      const x0 = X(at), x1 = X(at + s.value);
      out.push(
        `<rect class="bar" x="${x0.toFixed(1)}" y="${y}" width="${
          Math.max(1, x1 - x0).toFixed(1)
        }" height="${bar}" fill="${s.color}"><title>${
          esc(`${it.label}: ${s.name}`)
        }</title></rect>`,
      );
      at += s.value;
    }
    if (it.min !== undefined && it.max !== undefined && it.max > it.min) {
      const cy = y + bar / 2;
      out.push(
        `<path class="whisker" d="M${X(it.min).toFixed(1)} ${cy} H${X(it.max).toFixed(1)} M${
          X(it.min).toFixed(1)
        } ${cy - 7} V${cy + 7} M${X(it.max).toFixed(1)} ${cy - 7} V${
          cy + 7
        }" stroke="#222" stroke-width="1.5" fill="none"/>`,
      );
    }
    const end = Math.max(X(at), it.max !== undefined ? X(it.max) : 0);
    out.push(
      `<text class="bar-value" x="${(end + 6).toFixed(1)}" y="${y + bar / 2 + 4}">${
        esc(it.valueText)
      }</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n");
}

interface Frame {
  m: { left: number; right: number; top: number; bottom: number };
  pw: number;
  ph: number;
  width: number;
  height: number;
}

function gridAndAxes(
  f: Frame,
  a: {
    x: { at: number; label: string }[];
    y: { at: number; label: string }[];
    xLabel: string;
    yLabel: string;
  },
): string[] {
  const { m, pw, ph } = f;
  const bottom = m.top + ph;
  const out: string[] = [`<g class="axes" font-size="12" fill="#333">`];
  for (const t of a.x) {
    out.push(
      `<line x1="${t.at.toFixed(1)}" y1="${m.top}" x2="${
        t.at.toFixed(1)
      }" y2="${bottom}" stroke="#e3e3e3"/>`,
      `<text x="${t.at.toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${esc(t.label)}</text>`,
    );
  }
  for (const t of a.y) {
    out.push(
      `<line x1="${m.left}" y1="${t.at.toFixed(1)}" x2="${m.left + pw}" y2="${
        t.at.toFixed(1)
      }" stroke="#e3e3e3"/>`,
      `<text x="${m.left - 8}" y="${(t.at + 4).toFixed(1)}" text-anchor="end">${
        esc(t.label)
      }</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" y1="${bottom}" x2="${m.left + pw}" y2="${bottom}" stroke="#555"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${bottom}" stroke="#555"/>`,
    `<text class="axis-label" x="${m.left + pw / 2}" y="${bottom + 40}" text-anchor="middle">${
      esc(a.xLabel)
    }</text>`,
  );
  if (a.yLabel) {
    out.push(
      `<text class="axis-label" transform="translate(16 ${
        m.top + ph / 2
      }) rotate(-90)" text-anchor="middle">${esc(a.yLabel)}</text>`,
    );
  }
  out.push("</g>");
  return out;
}

function sum(segments: { value: number }[]): number {
  return segments.reduce((a, s) => a + (s.value > 0 ? s.value : 0), 0);
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}
