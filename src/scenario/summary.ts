/**
 * A readable summary of one result, for the terminal.
 *
 * @example
 * ```ts ignore
 * console.log(formatSummary(result));
 * ```
 * @module
 */
import { formatBytes } from "../util/size.ts";
import type { ProgressRecord, Result } from "../contract/types.ts";

/**
 * Formats a result as a few aligned lines.
 *
 * @example
 * ```ts
 * import { runScenario } from "./runner.ts";
 * import { formatSummary } from "./summary.ts";
 * console.log(formatSummary(await runScenario({ name: "idle", mode: "sim", guest: { ram: "16MiB" } })));
 * ```
 */
export function formatSummary(r: Result): string {
  const rows: [string, string][] = [
    ["scenario", `${r.scenario} (seed ${r.seed}, ${r.mode} mode)`],
    ["outcome", r.outcome + (r.error ? `: ${r.error}` : "")],
    [
      "memory",
      r.memoryEqual === null
        ? "unknown"
        : r.memoryEqual
        ? `equal (${r.memoryCheck})`
        : `${r.mismatchedPages} pages differ: ${r.mismatchedAddresses.join(", ")}`,
    ],
    ["downtime", r.downtimeMs === null ? "-" : `${r.downtimeMs.toFixed(1)} ms`],
    ["total time", `${r.totalTimeMs.toFixed(0)} ms (setup ${r.setupTimeMs.toFixed(1)} ms)`],
    [
      "iterations",
      `${r.iterations} dirty-log syncs, ${r.rounds} RAM sections${
        r.forcedStop ? ", forced stop" : ""
      }`,
    ],
    ["bytes", r.bytes ? kinds(r.bytes, formatBytes) : "not reported"],
    ["pages", r.pages ? kinds(r.pages, String) : "not reported"],
  ];
  if (r.xbzrle) {
    const x = r.xbzrle;
    rows.push([
      "xbzrle",
      `cache ${formatBytes(x.cacheSizeBytes)}, ${formatBytes(x.bytes)} in ${x.pages} pages, ` +
      `${x.unchangedPages} unchanged, ${x.cacheMisses} cache misses (rate ${
        x.cacheMissRate.toFixed(3)
      }), encoding rate ${x.encodingRate.toFixed(1)}, ${x.overflows} overflows`,
    ]);
  }
  if (r.compression) {
    const c = r.compression;
    rows.push([
      "compression",
      `${c.method} level ${c.level}: ${formatBytes(c.bytesBefore)} -> ${
        formatBytes(c.bytesAfter)
      } (${
        (c.ratio * 100).toFixed(1)
      } %) in ${c.batches} batches (${c.incompressibleBatches} did not shrink), ` +
      `compress ${c.compressMs.toFixed(0)} ms` +
      (c.decompressMs !== undefined ? `, decompress ${c.decompressMs.toFixed(0)} ms` : ""),
    ]);
  }
  if (r.hints) rows.push(["hints", hintLine(r)]);
  if (r.network && r.network.link !== "direct") {
    rows.push(["network", `${r.network.link} link, ${r.network.events.length} events`]);
  }
  for (const f of r.faults) {
    rows.push([
      "fault",
      `${f.action} at ${f.phase} ${f.round}, byte ${f.bytes}, ${
        f.firedAtMs.toFixed(0)
      } ms: ${f.observed}`,
    ]);
  }
  for (const f of r.faultsNotFired ?? []) rows.push(["fault", `${f.action}: ${f.reason}`]);
  if ((r.attempts?.length ?? 0) > 1) {
    rows.push(["attempts", r.attempts!.map((a) => `${a.attempt}: ${a.outcome}`).join(", ")]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
  lines.push("expectations:");
  for (const e of r.expectations) lines.push(`  ${e.ok ? "ok  " : "FAIL"} ${e.name}: ${e.detail}`);
  lines.push(r.passed ? "PASSED" : "FAILED");
  return lines.join("\n");
}

function hintLine(r: Result): string {
  const h = r.hints!;
  const rejected = Object.entries(h.rejected).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`);
  return `${h.source}: ${h.pagesSkipped} pages skipped, ${h.requests} requests (${h.answered} answered, ` +
    `${h.timedOut} timed out, ${h.superseded} superseded), rejected: ${
      rejected.join(", ") || "none"
    }${
      r.liedPages
        ? `; ${r.liedPages} pages lied about, ${r.liarMismatchedPages} of them differ`
        : ""
    }`;
}

function kinds(c: Record<string, number>, f: (n: number) => string): string {
  return `${f(c.total)} total` +
    Object.entries(c).filter(([k, v]) => k !== "total" && v > 0).map(([k, v]) => `, ${k} ${f(v)}`)
      .join("");
}

/** One progress line: phase, round, transferred, remaining, rate, expected downtime. */
export function formatProgress(p: ProgressRecord): string {
  const rate = p.bandwidthBytesPerSec > 0 ? `${formatBytes(p.bandwidthBytesPerSec)}/s` : "-";
  const eta = p.bandwidthBytesPerSec > 0 && Number.isFinite(p.expectedDowntimeMs)
    ? `${p.expectedDowntimeMs.toFixed(0)} ms`
    : "-";
  const xb = p.xbzrle
    ? `, xbzrle ${formatBytes(p.xbzrle.bytes)} in ${p.xbzrle.pages} pages (miss rate ${
      p.xbzrle.cacheMissRate.toFixed(2)
    }, encoding rate ${p.xbzrle.encodingRate.toFixed(1)})`
    : "";
  return `${(p.timeMs / 1000).toFixed(2)}s ${p.phase} ${p.round}: sent ${
    formatBytes(p.transferredBytes)
  }, ` +
    `remaining ${formatBytes(p.remainingBytes)}, ${rate}, dirty ${
      formatBytes(p.dirtyRateBytesPerSec)
    }/s, expected downtime ${eta}${xb}`;
}
