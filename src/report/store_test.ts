import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertOk, assertThrows } from "../util/assert.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import { describeMachine } from "./machine.ts";
import { formatRunTable } from "./results_cli.ts";
import { newBatchId, ResultsStore, type RunMeta } from "./store.ts";

const meta = (o: Partial<RunMeta> = {}): RunMeta => ({
  batch: "b1",
  kind: "compare",
  suite: "g",
  caseLabel: "case",
  repeat: 0,
  scenario: { name: "g.case", seed: 1 },
  commit: { commit: "abcdef0123456789abcdef0123456789abcdef01", dirty: false },
  machine: describeMachine(),
  ...o,
});

async function withDb(f: (path: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "ferry-store-" });
  try {
    await f(`${dir}/sub/results.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a run round-trips with its scenario, metrics and progress series (extra fields too)", async () => {
  await withDb((path) => {
    const store = ResultsStore.open(path);
    const result = fixtureResult({
      scenario: "g.case",
      totalTimeMs: 123,
      rounds: 3,
      downtimeMs: null,
    });
    const id = store.add(result, meta());
    const back = store.get(id)!;
    assertEquals(back.result, result);
    assertEquals(back.scenario, { name: "g.case", seed: 1 });
    assertEquals(back.metrics.totalTimeMs, 123);
    assertEquals(back.metrics.downtimeMs, null);
    assertEquals(back.commit.commit?.slice(0, 6), "abcdef");
    assertEquals(back.machine.cpus, navigator.hardwareConcurrency);
    assertEquals(back.result.progress[2].cacheHits, 2);
    // Listing leaves the progress out unless asked.
    assertEquals(store.list()[0].result.progress, []);
    store.close();
    // The progress series is queryable in SQL, one row per dirty-log sync.
    const db = new DatabaseSync(path);
    const rows = db.prepare(
      "SELECT round, phase, remaining_bytes FROM progress WHERE run_id = ? ORDER BY seq",
    )
      .all(id);
    assertEquals(rows.map((r) => r.phase), ["bulk", "round", "round", "stop-and-copy"]);
    db.close();
  });
});

Deno.test("filters narrow by batch, suite, case, scenario glob, mode, commit prefix and passed", async () => {
  await withDb((path) => {
    const store = ResultsStore.open(path);
    store.add(fixtureResult({ scenario: "g.a" }), meta({ caseLabel: "a" }));
    store.add(fixtureResult({ scenario: "g.b", mode: "sim" }), meta({ caseLabel: "b" }));
    store.add(
      fixtureResult({ scenario: "other", passed: false }),
      meta({
        batch: "b2",
        suite: null,
        caseLabel: null,
        commit: { commit: "1234567890", dirty: true },
      }),
    );
    const ids = (f: Parameters<typeof store.list>[0]) => store.list(f).map((r) => r.scenarioName);
    assertEquals(ids({}), ["other", "g.b", "g.a"]);
    assertEquals(ids({ order: "oldest", limit: 2 }), ["g.a", "g.b"]);
    assertEquals(ids({ batch: "b1" }), ["g.b", "g.a"]);
    assertEquals(ids({ caseLabel: "a" }), ["g.a"]);
    assertEquals(ids({ scenario: "g.*" }), ["g.b", "g.a"]);
    assertEquals(ids({ mode: "sim" }), ["g.b"]);
    assertEquals(ids({ commit: "12345" }), ["other"]);
    assertEquals(ids({ commit: "ABCDEF" }), ["g.b", "g.a"]);
    assertEquals(ids({ passed: false }), ["other"]);
    assertEquals(ids({ since: "2000-01-01" }).length, 3);
    assertEquals(ids({ ids: [] }), []);
    const batches = store.batches();
    assertEquals(batches.map((b) => [b.batch, b.runs, b.allPassed]), [["b2", 1, false], [
      "b1",
      2,
      true,
    ]]);
    assertEquals(store.count(), 3);
    store.close();
  });
});

Deno.test("a database from a newer schema or a file that is not one is refused by name", async () => {
  await withDb(async (path) => {
    ResultsStore.open(path).close();
    const db = new DatabaseSync(path);
    db.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    db.close();
    assertThrows(
      () => ResultsStore.open(path),
      /results\.db: written by a newer Ferry \(schema 99/,
    );
    await Deno.writeTextFile(path, "this is not sqlite, just text ".repeat(100));
    assertThrows(
      () => ResultsStore.open(path),
      /results\.db: cannot be opened as a results database/,
    );
  });
});

Deno.test("batch ids start with the time, so they sort by it", () => {
  const a = newBatchId(new Date("2025-01-02T03:04:05Z"));
  assertOk(/^20250102-030405-[0-9a-f]{4}$/.test(a), a);
  assertOk(newBatchId(new Date("2025-01-02T03:04:06Z")) > a);
});

Deno.test("a result without bytes is stored with bytes_total NULL, never 0", async () => {
  await withDb((path) => {
    const store = ResultsStore.open(path);
    const id = store.add(
      { ...fixtureResult({ scenario: "g.case" }), bytes: null, pages: null },
      meta(),
    );
    const back = store.get(id)!;
    assertEquals([back.result.bytes, back.result.pages], [null, null]);
    assertEquals([back.metrics.bytesTotal, back.metrics.pagesTotal], [null, null]);
    // `deno task results` lists it with "—" for the bytes, not "0 B".
    const line = formatRunTable(store.list(), 1).split("\n")[1];
    assertOk(/\s—$/.test(line) && !/\b0 B\b/.test(line), line);
    store.close();
    const db = new DatabaseSync(path);
    assertEquals(
      db.prepare("SELECT bytes_total FROM runs WHERE id = ?").get(id)?.bytes_total,
      null,
    );
    db.close();
  });
});

/** The runs table as schema version 1 made it (bytes_total NOT NULL, 0 when not reported). */
const SCHEMA_1 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, batch TEXT NOT NULL,
  kind TEXT NOT NULL, suite TEXT, case_label TEXT, repeat_index INTEGER NOT NULL,
  scenario_name TEXT NOT NULL, scenario_json TEXT NOT NULL, seed INTEGER NOT NULL,
  mode TEXT NOT NULL, git_commit TEXT, git_dirty INTEGER, machine_json TEXT NOT NULL,
  outcome TEXT NOT NULL, passed INTEGER NOT NULL, memory_equal INTEGER, downtime_ms REAL,
  total_time_ms REAL NOT NULL, bytes_total INTEGER NOT NULL, metrics_json TEXT NOT NULL,
  result_json TEXT NOT NULL
);
CREATE INDEX runs_batch ON runs(batch);
CREATE TABLE progress (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
  time_ms REAL NOT NULL, round INTEGER NOT NULL, phase TEXT NOT NULL,
  transferred_bytes INTEGER NOT NULL, remaining_bytes INTEGER NOT NULL, dirty_pages INTEGER,
  dirty_rate_bytes_per_sec REAL, bandwidth_bytes_per_sec REAL, expected_downtime_ms REAL,
  extra_json TEXT, PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
`;

Deno.test("a schema 1 database is migrated: bytes_total may be NULL, the zeros it made up become NULL, nothing else changes", async () => {
  await withDb(async (path) => {
    await Deno.mkdir(path.replace(/\/[^/]*$/, ""), { recursive: true });
    const old = new DatabaseSync(path);
    old.exec(SCHEMA_1);
    const row = (id: number, bytes: object | null, bytesTotal: number) =>
      old.prepare(
        `INSERT INTO runs VALUES (?, '2025-01-01T00:00:00Z', 'b1', 'ci', 'q', 'a', 0, 'a', '{}', 1,
          'sim', NULL, NULL, '{}', 'failed', 0, NULL, NULL, 5, ?, '{}', ?)`,
      ).run(id, bytesTotal, JSON.stringify({ scenario: "a", bytes }));
    row(1, null, 0);
    row(2, { total: 4096, normal: 4096, zero: 0 }, 4096);
    old.prepare(
      "INSERT INTO progress (run_id, seq, time_ms, round, phase, transferred_bytes, remaining_bytes) VALUES (2, 0, 1, 0, 'bulk', 10, 20)",
    ).run();
    old.close();

    const store = ResultsStore.open(path);
    assertEquals(store.count(), 2);
    assertEquals(store.progress(2).map((p) => p.transferredBytes), [10]);
    const id = store.add({ ...fixtureResult({ scenario: "b" }), bytes: null }, meta());
    assertEquals(id, 3, "ids carry on after the old rows");
    store.close();
    const db = new DatabaseSync(path);
    assertEquals(
      db.prepare("SELECT id, bytes_total FROM runs ORDER BY id").all().map((
        r,
      ) => [r.id, r.bytes_total]),
      [[1, null], [2, 4096], [3, null]],
    );
    assertEquals(db.prepare("SELECT value FROM meta").get()?.value, "2");
    assertEquals(
      db.prepare(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name LIKE 'runs_%'",
      ).get()?.n,
      3,
    );
    // Foreign keys still hold: deleting a run deletes its progress.
    db.exec("PRAGMA foreign_keys = ON; DELETE FROM runs WHERE id = 2");
    assertEquals(db.prepare("SELECT COUNT(*) AS n FROM progress WHERE run_id = 2").get()?.n, 0);
    db.close();
  });
});
