/**
 * Progress while runs go: on a terminal, one live line per run, rewritten
 * in place with the phase, round, bytes transferred and remaining, rate and
 * ETA, and left as a summary when the run ends; when output is not a
 * terminal, plain log lines (one per dirty-log sync, one at the start and
 * one at the end of each run).
 *
 * @example
 * ```ts
 * import { LiveProgress } from "./live.ts";
 * const lines: string[] = [];
 * const live = new LiveProgress({ isTerminal: false, write: (t) => lines.push(t) });
 * live.start("xbzrle #1 (real)", 0, 2);
 * console.log(lines[0]); // "[1/2] xbzrle #1 (real): starting\n"
 * ```
 * @module
 */
import type { ProgressRecord, Result } from "../contract/types.ts";
import { formatBytes } from "../util/size.ts";
import { formatValue, NOT_MEASURED } from "./metrics.ts";

/** Where progress goes. */
export interface ProgressSink {
  isTerminal: boolean;
  write(text: string): void;
  /** Terminal width (lines are cut to it so that rewriting in place works). */
  columns?: number;
}

/** The sink for standard output. */
export function stdoutSink(): ProgressSink {
  const enc = new TextEncoder();
  const isTerminal = Deno.stdout.isTerminal();
  let columns = 120;
  try {
    if (isTerminal) columns = Deno.consoleSize().columns || columns;
  } catch {
    // keep the default
  }
  return { isTerminal, columns, write: (t) => Deno.stdout.writeSync(enc.encode(t)) };
}

/** Live progress of a sequence of runs. */
export class LiveProgress {
  #sink: ProgressSink;
  #prefix = "";
  #open = false;

  constructor(sink: ProgressSink) {
    this.#sink = sink;
  }

  /** A run starts. */
  start(what: string, index: number, total: number): void {
    this.#prefix = `[${index + 1}/${total}] ${what}`;
    this.#emit("starting");
  }

  /** A line from the runner (phases before the first progress record). */
  log(line: string): void {
    if (this.#sink.isTerminal) this.#emit(line);
  }

  /** A progress record arrived. */
  progress(p: ProgressRecord): void {
    this.#emit(formatLive(p));
  }

  /** The run ended, with a result or an error. */
  finish(result: Result | null, error?: string): void {
    const text = result ? formatDone(result) : `harness error: ${firstLine(error ?? "unknown")}`;
    this.#emit(text);
    if (this.#sink.isTerminal) {
      this.#sink.write("\n");
      this.#open = false;
    }
  }

  /** Ends a line left open (call before printing anything else on a terminal). */
  close(): void {
    if (this.#open) this.#sink.write("\n");
    this.#open = false;
  }

  #emit(text: string) {
    const line = `${this.#prefix}: ${text}`;
    if (this.#sink.isTerminal) {
      const cols = this.#sink.columns ?? 120;
      this.#sink.write(`\r\x1b[K${line.length >= cols ? line.slice(0, cols - 2) + "…" : line}`);
      this.#open = true;
    } else this.#sink.write(`${line}\n`);
  }
}

/** Phase, round, transferred, remaining, rate and ETA of one progress record. */
export function formatLive(p: ProgressRecord): string {
  const rate = p.bandwidthBytesPerSec > 0
    ? `${formatBytes(p.bandwidthBytesPerSec)}/s`
    : `${NOT_MEASURED} /s`;
  const eta = p.bandwidthBytesPerSec > 0
    ? formatValue((p.remainingBytes / p.bandwidthBytesPerSec) * 1000, "ms")
    : NOT_MEASURED;
  return `${p.phase === "round" ? "" : `${p.phase}, `}round ${p.round} | sent ${
    formatBytes(p.transferredBytes)
  } | remaining ${formatBytes(p.remainingBytes)} | ${rate} | ETA ${eta} | t ${
    formatValue(p.timeMs, "ms")
  }`;
}

function formatDone(r: Result): string {
  const memory = r.memoryEqual === null
    ? "memory unknown"
    : r.memoryEqual
    ? "memory equal"
    : `${r.mismatchedPages} pages differ`;
  return `${r.outcome} | total ${formatValue(r.totalTimeMs, "ms")} | downtime ${
    formatValue(r.downtimeMs, "ms")
  } | ${r.bytes ? formatBytes(r.bytes.total) : "bytes not measured"} | ${
    typeof r.rounds === "number" ? `${r.rounds} rounds` : "rounds not measured"
  } | ${memory}${
    r.passed ? "" : " | FAILED " + r.expectations.filter((e) => !e.ok).map((e) => e.name).join(", ")
  }`;
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}
