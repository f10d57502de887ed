/**
 * Merges results databases (the shards of a matrix, each run on its own CI
 * runner) into one: `deno task results merge A.db B.db ... --into OUT.db`.
 *
 * Runs keep their ids and batches their names; the progress series and the
 * shard records go along. A run already in the output with every column equal
 * (the same database merged twice, a shard given twice) is a duplicate and is
 * left out. A run whose id is taken by a different run, or a second run of
 * the same batch, case, repeat and mode under another id, is a conflict: the
 * merge stores nothing, and says which runs of which files clash. A shard
 * numbers its runs by their place in the whole matrix's plan, so shards of
 * one batch never clash.
 *
 * Then every sharded batch is checked for completeness: every shard of N
 * present, each with the runs it planned.
 *
 * @example
 * ```ts ignore
 * import { mergeDatabases } from "./merge.ts";
 * const m = mergeDatabases(["shard-1.db", "shard-2.db"], "all.db");
 * console.log(m.added, m.duplicates, m.incomplete);
 * ```
 * @module
 */
import { realpathSync } from "node:fs";
import { type RawRun, ResultsStore, type ShardRecord } from "./store.ts";

/** What one input brought. */
export interface MergeInput {
  path: string;
  runs: number;
  added: number;
  duplicates: number;
}

/** A sharded batch in the merged database, and whether all of it is there. */
export interface MergedBatch {
  batch: string;
  suite: string | null;
  shards: number;
  present: number[];
  missing: number[];
  /** Shards with fewer runs than they planned: `I/N: have of planned`. */
  short: string[];
}

/** What a merge did. */
export interface MergeReport {
  into: string;
  inputs: MergeInput[];
  added: number;
  duplicates: number;
  /** Runs in the output when done. */
  total: number;
  sharded: MergedBatch[];
  /** Lines saying what of a sharded matrix is missing (empty: every sharded batch is whole). */
  incomplete: string[];
}

/** The inputs cannot be merged; nothing was stored. `conflicts` lists why, one a line. */
export class MergeConflict extends Error {
  /** One line per clash. */
  readonly conflicts: string[];
  /** Makes the error from its lines. */
  constructor(conflicts: string[]) {
    super(
      `${conflicts.length} conflicting run${
        conflicts.length === 1 ? "" : "s"
      }; nothing merged:\n  ${conflicts.slice(0, 20).join("\n  ")}${
        conflicts.length > 20 ? `\n  ... and ${conflicts.length - 20} more` : ""
      }`,
    );
    this.conflicts = conflicts;
  }
}

function describe(row: Record<string, unknown>): string {
  return `batch ${row.batch}, ${row.suite ? `${row.suite}/` : ""}${
    row.case_label ?? row.scenario_name
  } repeat ${row.repeat_index} (${row.mode})`;
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Merges `inputs` into `into` (created when missing; runs it holds stay).
 * Throws RangeError for a missing input or an output that is also an input,
 * MergeConflict when runs clash (the output is then left as it was, and
 * removed if the merge created it).
 */
export function mergeDatabases(inputs: string[], into: string): MergeReport {
  if (!inputs.length) throw new RangeError("give the databases to merge");
  for (const p of inputs) {
    let st;
    try {
      st = Deno.statSync(p);
    } catch {
      throw new RangeError(`${p}: no such database`);
    }
    if (!st.isFile) throw new RangeError(`${p}: not a file`);
    if (st.size === 0) throw new RangeError(`${p}: empty, not a results database`);
    if (real(p) === real(into)) {
      throw new RangeError(`${p}: is the output too; merge into a new file`);
    }
  }
  const created = !exists(into);
  const out = ResultsStore.open(into);
  const origin = new Map<number, string>();
  const report: MergeReport = {
    into,
    inputs: [],
    added: 0,
    duplicates: 0,
    total: 0,
    sharded: [],
    incomplete: [],
  };
  try {
    const conflicts: string[] = [];
    out.transaction(() => {
      for (const path of inputs) {
        const src = ResultsStore.open(path);
        const stat: MergeInput = { path, runs: 0, added: 0, duplicates: 0 };
        try {
          for (const run of src.rawRuns()) {
            stat.runs++;
            const clash = mergeOne(out, run);
            const id = Number(run.row.id);
            if (clash === "added") {
              stat.added++;
              origin.set(id, path);
            } else if (clash === "duplicate") stat.duplicates++;
            else {
              conflicts.push(
                `${path} run ${id} (${describe(run.row)}) clashes with ${clash.what} from ${
                  origin.get(clash.id) ?? into
                }`,
              );
            }
          }
          for (const s of src.shards()) {
            const other = out.shards().find((o) => o.batch === s.batch && o.shard === s.shard);
            if (other && (other.shards !== s.shards || other.planned !== s.planned)) {
              conflicts.push(
                `${path}: batch ${s.batch} shard ${s.shard}/${s.shards} (${s.planned} runs planned) clashes with shard ${other.shard}/${other.shards} (${other.planned} planned)`,
              );
            } else if (!other) out.addShard(s);
          }
        } finally {
          src.close();
        }
        report.inputs.push(stat);
        report.added += stat.added;
        report.duplicates += stat.duplicates;
      }
      if (conflicts.length) throw new MergeConflict(conflicts);
    });
    report.total = out.count();
    report.sharded = completeness(out, out.shards());
    for (const b of report.sharded) {
      if (b.missing.length) {
        report.incomplete.push(
          `batch ${b.batch}${b.suite ? ` (${b.suite})` : ""}: shard${
            b.missing.length === 1 ? "" : "s"
          } ${b.missing.join(", ")} of ${b.shards} missing`,
        );
      }
      for (const s of b.short) report.incomplete.push(`batch ${b.batch}: ${s}`);
    }
    out.close();
    return report;
  } catch (e) {
    out.close();
    if (created) {
      for (const f of [into, `${into}-journal`, `${into}-wal`, `${into}-shm`]) {
        try {
          Deno.removeSync(f);
        } catch { /* not there */ }
      }
    }
    throw e;
  }
}

/** Adds one run unless it is there already; says what happened. */
function mergeOne(
  out: ResultsStore,
  run: RawRun,
): "added" | "duplicate" | { id: number; what: string } {
  const id = Number(run.row.id);
  const existing = out.rawRun(id);
  if (existing) {
    const same = Object.keys(run.row).every((k) => existing[k] === run.row[k]);
    return same ? "duplicate" : { id, what: `run ${id} (${describe(existing)})` };
  }
  const twin = out.findRun({
    batch: run.row.batch as string,
    suite: run.row.suite as string | null,
    caseLabel: run.row.case_label as string | null,
    repeat: Number(run.row.repeat_index),
    mode: run.row.mode as string,
  });
  if (twin !== undefined) return { id: twin, what: `run ${twin}, the same case and repeat` };
  out.insertRaw(run);
  return "added";
}

function completeness(out: ResultsStore, shards: ShardRecord[]): MergedBatch[] {
  const byBatch = new Map<string, ShardRecord[]>();
  for (const s of shards) byBatch.set(s.batch, [...(byBatch.get(s.batch) ?? []), s]);
  return [...byBatch.entries()].map(([batch, list]) => {
    const n = Math.max(...list.map((s) => s.shards));
    const present = list.map((s) => s.shard);
    const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !present.includes(i));
    const runs = out.list({ batch });
    const short: string[] = [];
    const total = list.reduce((a, s) => a + s.planned, 0);
    if (!missing.length && runs.length < total) {
      short.push(`${runs.length} of the ${total} runs its ${n} shards planned are stored`);
    }
    return { batch, suite: list[0].suite, shards: n, present, missing, short };
  });
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
