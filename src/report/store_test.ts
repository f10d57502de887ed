import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertOk, assertThrows } from "../util/assert.ts";
import { fixtureResult } from "./fixtures_test_util.ts";
import { describeMachine } from "./machine.ts";
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
