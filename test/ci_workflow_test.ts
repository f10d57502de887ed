/**
 * The example workflow in `ci/workflows/` (GitHub Actions) stays consistent
 * with the commands it runs: its matrix lists every shard index 1..SHARDS,
 * every shard step passes `--shard INDEX/SHARDS`, one `--batch` shared by the
 * shards and a database of the shard's own, those databases are uploaded,
 * and the report job merges them with `results merge ... --into` and builds
 * the report from the merged database. (zx bundles a YAML parser; it is
 * imported here only.)
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";

const FILE = new URL("../ci/workflows/sharded-matrix.yml", import.meta.url);

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

Deno.test("the example sharded workflow: matrix, shard options, artifacts, merge and report agree", async () => {
  const { YAML } = await import("zx");
  const wf = YAML.parse(await Deno.readTextFile(FILE));
  const shards = Number(wf.env.SHARDS);
  assertOk(Number.isInteger(shards) && shards >= 2, `SHARDS = ${wf.env.SHARDS}`);
  assertEquals(
    wf.jobs.shard.strategy.matrix.shard,
    Array.from({ length: shards }, (_, i) => i + 1),
  );
  assertEquals(wf.jobs.shard.strategy["fail-fast"], false);

  const runs = (wf.jobs.shard.steps as Step[]).map((s) => s.run ?? "").filter((r) =>
    /deno task (ci|compare) /.test(r)
  );
  assertOk(runs.length >= 1, "no shard step runs deno task ci or compare");
  const dbs = new Set<string>();
  for (const r of runs) {
    const line = r.replace(/\s+/g, " ");
    assertMatch(line, /--shard \$\{\{ matrix\.shard \}\}\/\$\{\{ env\.SHARDS \}\}/);
    assertMatch(line, /--batch \$\{\{ env\.BATCH \}\}/);
    const db = /--db (\S+?\.db)(?: |$)/.exec(
      line.replace(/\$\{\{ matrix\.shard \}\}/g, "MATRIX_SHARD"),
    )?.[1]?.replace("MATRIX_SHARD", "${{ matrix.shard }}");
    assertOk(db?.includes("${{ matrix.shard }}"), `${line}: the database is not the shard's own`);
    dbs.add(db!);
  }
  const upload = (wf.jobs.shard.steps as Step[]).find((s) =>
    s.uses?.startsWith("actions/upload-artifact")
  );
  assertOk(upload, "the shard job uploads nothing");
  for (const db of dbs) {
    assertOk(
      db.startsWith(`${upload.with!.path}`.replace(/\/$/, "") + "/"),
      `${db} is not in ${upload.with!.path}`,
    );
  }
  assertOk(upload.with!.name && `${upload.with!.name}`.includes("${{ matrix.shard }}"));

  const report = wf.jobs.report;
  assertEquals(report.needs, "shard");
  const steps = report.steps as Step[];
  const download = steps.find((s) => s.uses?.startsWith("actions/download-artifact"));
  assertOk(download?.with?.["merge-multiple"], "the report job does not gather every shard");
  const merge = steps.map((s) => s.run ?? "").find((r) => r.includes("deno task results merge"));
  assertOk(merge, "the report job does not merge");
  const into = /--into (\S+)/.exec(merge)?.[1];
  assertOk(into, "merge has no --into");
  const reports = steps.map((s) => s.run ?? "").join("\n");
  assertMatch(reports, new RegExp(`deno task results --db ${into.replace(".", "\\.")} --batch`));
  assertOk(
    steps.some((s) =>
      s.run?.includes("exit 1") && `${(s as { if?: string }).if}`.includes("needs.shard.result")
    ),
    "the report job does not fail when a shard failed",
  );
});
