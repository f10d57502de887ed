/**
 * The results database: every run a comparison or a CI suite makes (and any
 * result imported from `deno task scenario --json`), in SQLite through
 * Deno's built-in `node:sqlite`. Default file: `.ferry/results.db`.
 *
 * Schema (version 2; see docs/compare.md; a version 1 database is migrated
 * when opened):
 *
 * - `meta(key, value)`: `schema_version`.
 * - `runs`: one row per run: when, which batch (one `deno task compare` or
 *   `deno task ci` invocation), kind, suite (group or suite name), case label,
 *   repeat index, scenario name and JSON (as run), seed, mode, git commit and
 *   dirty flag, machine JSON, the headline metrics as columns (outcome,
 *   passed, memory_equal, downtime_ms, total_time_ms, bytes_total; NULL
 *   where the run has no such figure, never 0), every
 *   metric as JSON, and the result JSON without its progress series.
 * - `progress`: the progress series, one row per dirty-log sync (run_id,
 *   seq, time_ms, round, phase, transferred_bytes, remaining_bytes,
 *   dirty_pages, dirty_rate_bytes_per_sec, bandwidth_bytes_per_sec,
 *   expected_downtime_ms, extra_json for fields capabilities add).
 * - `shards`: one row per shard of a sharded batch that ran into this
 *   database (batch, shard, shards, suite, planned runs), so that a merge
 *   can tell a complete matrix from one missing a shard. Added without a
 *   version change: older code ignores it.
 *
 * @example
 * ```ts ignore
 * import { ResultsStore } from "./store.ts";
 * const store = ResultsStore.open(":memory:");
 * const id = store.add(result, meta);
 * console.log(store.list({ batch: meta.batch }).length);
 * store.close();
 * ```
 * @module
 */
/// <reference path="./node_sqlite.d.ts" />
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { dirname } from "node:path";
import type { ProgressRecord, Result, Scenario } from "../contract/types.ts";
import type { CommitInfo, MachineDescription } from "./machine.ts";
import { extractMetrics } from "./metrics.ts";

/** Default database file, relative to the working directory. */
export const DEFAULT_DB = ".ferry/results.db";

/** The schema version this code writes (a database of version 1 is migrated when opened). */
export const SCHEMA_VERSION = 2;

/** What the store keeps about a run besides its result. */
export interface RunMeta {
  /** One `deno task compare` or `deno task ci` invocation. */
  batch: string;
  /** What made the run: a comparison, a CI suite, an imported result, or a single scenario run. */
  kind: "compare" | "ci" | "import" | "scenario";
  /** Group or suite name. */
  suite: string | null;
  /** The case's label in its group or suite (null: the run was not part of one). */
  caseLabel: string | null;
  /** Which repeat of the case it was, from 0. */
  repeat: number;
  /** The scenario as it ran. */
  scenario: Scenario;
  /** The git commit the run was made with (nulls: not known). */
  commit: CommitInfo;
  /** The machine the run was made on. */
  machine: MachineDescription;
  /** ISO time; now when omitted. */
  createdAt?: string;
}

/** A run read back from the store. */
export interface StoredRun extends RunMeta {
  /** Row id, increasing in the order runs were stored. */
  id: number;
  /** The time given in its meta, else when it was stored; an ISO 8601 string. */
  createdAt: string;
  /** The result's scenario name. */
  scenarioName: string;
  /** The seed the run used. */
  seed: number;
  /** The mode the run ran in. */
  mode: "real" | "sim";
  /** Every metric's value, by metric name (null: not measured, never 0). */
  metrics: Record<string, number | null>;
  /** The result; its `progress` is empty unless asked for. */
  result: Result;
}

/** Which runs to read. Every field narrows the selection. */
export interface RunFilter {
  /** Only these row ids (an empty list selects nothing). */
  ids?: number[];
  /** Only runs of this batch. */
  batch?: string;
  /** Only runs of this kind ("compare", "ci", "import" or "scenario"). */
  kind?: string;
  /** Only runs of this group or suite. */
  suite?: string;
  /** Only runs with this case label. */
  caseLabel?: string;
  /** Scenario name; `*` matches any characters. */
  scenario?: string;
  /** Only runs in this mode ("real" or "sim"). */
  mode?: string;
  /** A commit or a prefix of one. */
  commit?: string;
  /** ISO time or date: runs at or after it. */
  since?: string;
  /** Only runs whose expectations all held (true) or not (false). */
  passed?: boolean;
  /** Newest first unless "oldest". */
  order?: "newest" | "oldest";
  /** At most this many runs (a fraction is rounded down, a negative number selects none). */
  limit?: number;
}

/** The columns of `runs` (version 2: `bytes_total` is NULL when no peer reported bytes). */
const RUNS_COLUMNS = `
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT NOT NULL,
  batch TEXT NOT NULL,
  kind TEXT NOT NULL,
  suite TEXT,
  case_label TEXT,
  repeat_index INTEGER NOT NULL,
  scenario_name TEXT NOT NULL,
  scenario_json TEXT NOT NULL,
  seed INTEGER NOT NULL,
  mode TEXT NOT NULL,
  git_commit TEXT,
  git_dirty INTEGER,
  machine_json TEXT NOT NULL,
  outcome TEXT NOT NULL,
  passed INTEGER NOT NULL,
  memory_equal INTEGER,
  downtime_ms REAL,
  total_time_ms REAL NOT NULL,
  bytes_total INTEGER,
  metrics_json TEXT NOT NULL,
  result_json TEXT NOT NULL
`;

const RUNS_INDEXES = `
CREATE INDEX IF NOT EXISTS runs_batch ON runs(batch);
CREATE INDEX IF NOT EXISTS runs_commit ON runs(git_commit);
CREATE INDEX IF NOT EXISTS runs_scenario ON runs(scenario_name, mode);
`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (${RUNS_COLUMNS});
${RUNS_INDEXES}
CREATE TABLE IF NOT EXISTS progress (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  time_ms REAL NOT NULL,
  round INTEGER NOT NULL,
  phase TEXT NOT NULL,
  transferred_bytes INTEGER NOT NULL,
  remaining_bytes INTEGER NOT NULL,
  dirty_pages INTEGER,
  dirty_rate_bytes_per_sec REAL,
  bandwidth_bytes_per_sec REAL,
  expected_downtime_ms REAL,
  extra_json TEXT,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shards (
  batch TEXT NOT NULL,
  shard INTEGER NOT NULL,
  shards INTEGER NOT NULL,
  suite TEXT,
  planned INTEGER NOT NULL,
  PRIMARY KEY (batch, shard)
) WITHOUT ROWID;
`;

/**
 * Version 1 to 2: `runs.bytes_total` loses NOT NULL, and rows that stored 0
 * for a result without bytes (not reported: the source died) get NULL. The
 * table is rebuilt (SQLite cannot drop a NOT NULL), with foreign keys off so
 * that dropping the old table does not cascade into `progress`.
 */
function migrateFrom1(db: DatabaseSync): void {
  db.exec("PRAGMA foreign_keys = OFF");
  db.exec("BEGIN");
  try {
    db.exec(`
      CREATE TABLE runs_v2 (${RUNS_COLUMNS});
      INSERT INTO runs_v2 SELECT * FROM runs;
      UPDATE runs_v2 SET bytes_total = NULL WHERE json_type(result_json, '$.bytes') IS NOT 'object';
      DROP TABLE runs;
      ALTER TABLE runs_v2 RENAME TO runs;
      ${RUNS_INDEXES}
      UPDATE meta SET value = '2' WHERE key = 'schema_version';
    `);
    const broken = db.prepare("PRAGMA foreign_key_check").all();
    if (broken.length) throw new Error(`${broken.length} rows lost their run`);
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  } finally {
    db.exec("PRAGMA foreign_keys = ON");
  }
}

/** Progress fields with their own column; anything else goes to extra_json. */
const PROGRESS_COLUMNS: [keyof ProgressRecord, string][] = [
  ["timeMs", "time_ms"],
  ["round", "round"],
  ["phase", "phase"],
  ["transferredBytes", "transferred_bytes"],
  ["remainingBytes", "remaining_bytes"],
  ["dirtyPages", "dirty_pages"],
  ["dirtyRateBytesPerSec", "dirty_rate_bytes_per_sec"],
  ["bandwidthBytesPerSec", "bandwidth_bytes_per_sec"],
  ["expectedDowntimeMs", "expected_downtime_ms"],
];

/** One database row, column name to value. */
export type Row = Record<string, SQLInputValue>;

/** A run exactly as stored: every column of `runs`, and its `progress` rows (for merging). */
export interface RawRun {
  /** The `runs` row. */
  row: Row;
  /** Its `progress` rows, in order. */
  progress: Row[];
}

/** One shard of a sharded batch, as recorded in the database it ran into. */
export interface ShardRecord {
  /** The batch the shards share (`--batch`). */
  batch: string;
  /** 1-based. */
  shard: number;
  /** How many shards the batch was cut into. */
  shards: number;
  /** The suite it ran (`ci`), or null for a comparison group. */
  suite: string | null;
  /** Runs the shard planned to make. */
  planned: number;
}

/**
 * The results database.
 *
 * @example
 * ```ts
 * import { ResultsStore } from "./store.ts";
 * const store = ResultsStore.open(":memory:");
 * console.log(store.count(), store.list({ kind: "ci" })); // 0 []
 * store.close();
 * ```
 */
export class ResultsStore {
  /** The database file (or ":memory:"). */
  readonly path: string;
  #db: DatabaseSync;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  /**
   * Opens (creating the file, its folder and the schema when missing) a
   * database. Throws Error naming the file when it is not a Ferry database
   * or was written by a newer schema.
   */
  static open(path: string = DEFAULT_DB): ResultsStore {
    if (path !== ":memory:") Deno.mkdirSync(dirname(path), { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      db.exec("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
      db.exec(SCHEMA);
    } catch (e) {
      throw new Error(`${path}: cannot be opened as a results database: ${(e as Error).message}`);
    }
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    if (!row) {
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(
        String(SCHEMA_VERSION),
      );
    } else if (Number(row.value) > SCHEMA_VERSION) {
      db.close();
      throw new Error(
        `${path}: written by a newer Ferry (schema ${row.value}, this code knows ${SCHEMA_VERSION})`,
      );
    } else if (Number(row.value) === 1) {
      try {
        migrateFrom1(db);
      } catch (e) {
        db.close();
        throw new Error(
          `${path}: cannot be migrated from schema 1 to ${SCHEMA_VERSION}: ${(e as Error).message}`,
        );
      }
    }
    return new ResultsStore(path, db);
  }

  /**
   * Stores a run; returns its id. `id` gives the row its id (a shard numbers
   * its runs by their place in the whole matrix's plan, so that merged
   * shards keep distinct ids); by default the next free one.
   */
  add(result: Result, meta: RunMeta, id?: number): number {
    const { progress, ...rest } = result;
    const db = this.#db;
    db.exec("BEGIN");
    try {
      const info = db.prepare(
        `INSERT INTO runs (id, created_at, batch, kind, suite, case_label, repeat_index,
          scenario_name, scenario_json, seed, mode, git_commit, git_dirty, machine_json, outcome,
          passed, memory_equal, downtime_ms, total_time_ms, bytes_total, metrics_json, result_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id ?? null,
        meta.createdAt ?? new Date().toISOString(),
        meta.batch,
        meta.kind,
        meta.suite,
        meta.caseLabel,
        meta.repeat,
        result.scenario,
        JSON.stringify(meta.scenario),
        result.seed,
        result.mode,
        meta.commit.commit,
        meta.commit.dirty === null ? null : meta.commit.dirty ? 1 : 0,
        JSON.stringify(meta.machine),
        result.outcome,
        result.passed ? 1 : 0,
        result.memoryEqual === null ? null : result.memoryEqual ? 1 : 0,
        result.downtimeMs,
        result.totalTimeMs,
        result.bytes ? result.bytes.total : null,
        JSON.stringify(extractMetrics(result)),
        JSON.stringify({ ...rest, progress: [] }),
      );
      const runId = Number(info.lastInsertRowid);
      const insert = db.prepare(
        `INSERT INTO progress (run_id, seq, ${PROGRESS_COLUMNS.map(([, c]) => c).join(", ")},
          extra_json) VALUES (?, ?, ${PROGRESS_COLUMNS.map(() => "?").join(", ")}, ?)`,
      );
      (progress ?? []).forEach((p, seq) => {
        const extra: Record<string, unknown> = { ...p };
        const values = PROGRESS_COLUMNS.map(([k]) => {
          delete extra[k as string];
          const v = p[k];
          return (typeof v === "number" && !Number.isFinite(v) ? null : v ?? null) as SQLInputValue;
        });
        insert.run(runId, seq, ...values, Object.keys(extra).length ? JSON.stringify(extra) : null);
      });
      db.exec("COMMIT");
      return runId;
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Reads runs (newest first by default); progress series only with `withProgress`. */
  list(filter: RunFilter = {}, options: { withProgress?: boolean } = {}): StoredRun[] {
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    const eq = (col: string, v: SQLInputValue | undefined) => {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        args.push(v);
      }
    };
    if (filter.ids) {
      if (!filter.ids.length) return [];
      where.push(`id IN (${filter.ids.map(() => "?").join(", ")})`);
      args.push(...filter.ids);
    }
    eq("batch", filter.batch);
    eq("kind", filter.kind);
    eq("suite", filter.suite);
    eq("case_label", filter.caseLabel);
    eq("mode", filter.mode);
    if (filter.passed !== undefined) eq("passed", filter.passed ? 1 : 0);
    if (filter.scenario !== undefined) {
      where.push("scenario_name GLOB ?");
      args.push(filter.scenario.replace(/[[\]?]/g, "[$&]"));
    }
    if (filter.commit !== undefined) {
      where.push("substr(git_commit, 1, ?) = ?");
      args.push(filter.commit.length, filter.commit.toLowerCase());
    }
    if (filter.since !== undefined) {
      where.push("created_at >= ?");
      args.push(new Date(filter.since).toISOString());
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY id ${filter.order === "oldest" ? "ASC" : "DESC"}
      ${filter.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(filter.limit))}` : ""}`;
    const rows = this.#db.prepare(sql).all(...args) as Row[];
    const runs = rows.map(toRun);
    if (options.withProgress) { for (const r of runs) r.result.progress = this.progress(r.id); }
    return runs;
  }

  /** One run by id, with its progress series; undefined when there is none. */
  get(id: number): StoredRun | undefined {
    return this.list({ ids: [id] }, { withProgress: true })[0];
  }

  /** A run's progress series. */
  progress(runId: number): ProgressRecord[] {
    const rows = this.#db.prepare("SELECT * FROM progress WHERE run_id = ? ORDER BY seq").all(
      runId,
    ) as Row[];
    return rows.map((row) => {
      const rec: Record<string, unknown> = row.extra_json
        ? JSON.parse(row.extra_json as string)
        : {};
      for (const [k, c] of PROGRESS_COLUMNS) rec[k as string] = row[c];
      return rec as ProgressRecord;
    });
  }

  /** Batches, newest first: id, kind, suite, run count, first run's time and commit. */
  batches(filter: { kind?: string; suite?: string; mode?: string } = {}): BatchInfo[] {
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    for (
      const [col, v] of [["kind", filter.kind], ["suite", filter.suite], ["mode", filter.mode]]
    ) {
      if (v !== undefined) {
        where.push(`${col} = ?`);
        args.push(v);
      }
    }
    const rows = this.#db.prepare(
      `SELECT batch, kind, suite, mode, COUNT(*) AS runs, MIN(id) AS first_id, MIN(created_at) AS created_at,
        MIN(git_commit) AS git_commit, MIN(passed) AS all_passed
       FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       GROUP BY batch ORDER BY first_id DESC`,
    ).all(...args) as Row[];
    return rows.map((r) => ({
      batch: r.batch as string,
      kind: r.kind as string,
      suite: r.suite as string | null,
      mode: r.mode as string,
      runs: Number(r.runs),
      firstId: Number(r.first_id),
      createdAt: r.created_at as string,
      commit: r.git_commit as string | null,
      allPassed: Number(r.all_passed) === 1,
    }));
  }

  /** The largest run id ever given in this database (0 when none). */
  maxId(): number {
    const seq = this.#db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").get() as
      | Row
      | undefined;
    const max = this.#db.prepare("SELECT MAX(id) AS m FROM runs").get() as Row;
    return Math.max(Number(seq?.seq ?? 0), Number(max.m ?? 0));
  }

  /** Records that a shard of a sharded batch ran into this database. */
  addShard(s: ShardRecord): void {
    this.#db.prepare(
      "INSERT OR REPLACE INTO shards (batch, shard, shards, suite, planned) VALUES (?, ?, ?, ?, ?)",
    ).run(s.batch, s.shard, s.shards, s.suite, s.planned);
  }

  /** The shards recorded, by batch then shard. */
  shards(): ShardRecord[] {
    const rows = this.#db.prepare("SELECT * FROM shards ORDER BY batch, shard").all() as Row[];
    return rows.map((r) => ({
      batch: r.batch as string,
      shard: Number(r.shard),
      shards: Number(r.shards),
      suite: r.suite as string | null,
      planned: Number(r.planned),
    }));
  }

  /** Every run exactly as stored, oldest id first, with its progress rows. */
  *rawRuns(): Generator<RawRun> {
    // One run at a time: a database of a large matrix need not fit in memory.
    const ids = this.#db.prepare("SELECT id FROM runs ORDER BY id").all() as Row[];
    const progress = this.#db.prepare("SELECT * FROM progress WHERE run_id = ? ORDER BY seq");
    for (const { id } of ids) {
      const row = this.rawRun(Number(id));
      if (row) yield { row, progress: progress.all(id) as Row[] };
    }
  }

  /** One run exactly as stored (no progress rows), or undefined. */
  rawRun(id: number): Row | undefined {
    return this.#db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as Row | undefined;
  }

  /** The id of the run of this batch, case, repeat and mode, if one is stored. */
  findRun(
    k: {
      batch: string;
      suite: string | null;
      caseLabel: string | null;
      repeat: number;
      mode: string;
    },
  ): number | undefined {
    const row = this.#db.prepare(
      `SELECT id FROM runs WHERE batch = ? AND suite IS ? AND case_label IS ? AND repeat_index = ?
        AND mode = ? ORDER BY id LIMIT 1`,
    ).get(k.batch, k.suite, k.caseLabel, k.repeat, k.mode) as Row | undefined;
    return row ? Number(row.id) : undefined;
  }

  /** Stores a run exactly as another database held it (its id included). */
  insertRaw(run: RawRun): void {
    const cols = Object.keys(run.row);
    this.#db.prepare(
      `INSERT INTO runs (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
    ).run(...cols.map((c) => run.row[c]));
    for (const p of run.progress) {
      const pc = Object.keys(p);
      this.#db.prepare(
        `INSERT INTO progress (${pc.join(", ")}) VALUES (${pc.map(() => "?").join(", ")})`,
      ).run(...pc.map((c) => p[c]));
    }
  }

  /** Runs `fn` in one transaction: all of it is stored, or (when it throws) none. */
  transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Number of runs stored. */
  count(): number {
    return Number((this.#db.prepare("SELECT COUNT(*) AS n FROM runs").get() as Row).n);
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }
}

/** A batch: one comparison or CI invocation. */
export interface BatchInfo {
  /** The batch id ("20250101-120000-1a2b"). */
  batch: string;
  /** The kind of one of its runs (one command makes a batch, so normally all share it). */
  kind: string;
  /** The group or suite name of one of its runs (null: none). */
  suite: string | null;
  /** The mode of one of its runs (a suite may run scenarios in both modes). */
  mode: string;
  /** How many runs it holds (those matching the filter). */
  runs: number;
  /** The smallest row id among its runs. */
  firstId: number;
  /** The earliest time among its runs, as an ISO 8601 string. */
  createdAt: string;
  /** The smallest commit among its runs (null: none known). */
  commit: string | null;
  /** Every run in it passed. */
  allPassed: boolean;
}

function toRun(row: Row): StoredRun {
  return {
    id: Number(row.id),
    createdAt: row.created_at as string,
    batch: row.batch as string,
    kind: row.kind as RunMeta["kind"],
    suite: row.suite as string | null,
    caseLabel: row.case_label as string | null,
    repeat: Number(row.repeat_index),
    scenarioName: row.scenario_name as string,
    scenario: JSON.parse(row.scenario_json as string),
    seed: Number(row.seed),
    mode: row.mode as "real" | "sim",
    commit: {
      commit: row.git_commit as string | null,
      dirty: row.git_dirty === null ? null : Number(row.git_dirty) === 1,
    },
    machine: JSON.parse(row.machine_json as string),
    metrics: JSON.parse(row.metrics_json as string),
    result: JSON.parse(row.result_json as string),
  };
}

/** A new batch id: the time and four random hex digits ("20250101-120000-1a2b"). */
export function newBatchId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const r = crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0");
  return `${t}-${r}`;
}
