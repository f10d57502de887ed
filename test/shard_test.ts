/**
 * Sharding end to end in sim mode: a group run as N shards, each into its own
 * database, merged, gives the same database and the same report as one
 * unsharded run, byte for byte once the wall-clock fields are left out
 * (`wall`, the time each run was stored, the machine's description).
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";
import { main as compare } from "../src/report/compare_cli.ts";
import { main as ci } from "../src/report/ci_cli.ts";
import { main as results } from "../src/report/results_cli.ts";
import { ResultsStore } from "../src/report/store.ts";

const GROUP = {
  name: "shardy",
  description: "five dirty rates, two repeats, in sim mode",
  repeat: 2,
  mode: "sim",
  base: {
    name: "shardy",
    seed: 7,
    guest: { ram: "8MiB", workload: { kind: "random", dirtyRate: "8MiB/s" } },
    migration: { parameters: { maxBandwidth: "1Gbit", maxRounds: 5 } },
    warmupMs: 20,
    settleMs: 10,
  },
  cases: [{
    sweep: "guest.workload.dirtyRate",
    values: ["4MiB/s", "8MiB/s", "16MiB/s", "32MiB/s", "64MiB/s"],
  }],
};

/** Fields that depend on the wall clock or the machine, left out of the comparison. */
const WALL = new Set(["wall", "createdAt", "created_at", "machine", "machine_json"]);

function canonical(value: unknown): string {
  return JSON.stringify(value, (k, v) => {
    if (WALL.has(k)) return undefined;
    if (k === "result_json" && typeof v === "string") {
      const { wall: _, ...rest } = JSON.parse(v);
      return rest;
    }
    return v;
  }, 1);
}

function dump(path: string): string {
  const store = ResultsStore.open(path);
  try {
    return canonical([...store.rawRuns()]);
  } finally {
    store.close();
  }
}

async function quietly<T>(fn: () => Promise<T> | T): Promise<{ value: T; err: string }> {
  const log = console.log, error = console.error;
  const errs: string[] = [];
  console.log = () => {};
  console.error = (...a: unknown[]) => errs.push(a.join(" "));
  try {
    return { value: await fn(), err: errs.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

async function report(db: string, batch: string, out: string): Promise<string> {
  const { value, err } = await quietly(() => results(["--db", db, "--batch", batch, "--out", out]));
  assertEquals(value, 0, err);
  return await Deno.readTextFile(`${out}/report.json`);
}

Deno.test("compare --shard: three shards merged equal one unsharded run, byte for byte without wall", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-shard-" });
  try {
    const group = `${dir}/shardy.json`;
    await Deno.writeTextFile(group, JSON.stringify(GROUP));
    const common = [group, "--batch", "nightly-1", "--quiet"];
    const one = await quietly(() =>
      compare([...common, "--db", `${dir}/one.db`, "--out", `${dir}/one`])
    );
    assertEquals(one.value, 0, one.err);
    for (const i of [1, 2, 3]) {
      const r = await quietly(() =>
        compare([
          ...common,
          "--shard",
          `${i}/3`,
          "--db",
          `${dir}/s${i}.db`,
          "--out",
          `${dir}/s${i}`,
        ])
      );
      assertEquals(r.value, 0, `shard ${i}: ${r.err}`);
    }
    // Each shard ran some cases and no two shards the same one.
    const counts = [1, 2, 3].map((i) => {
      const s = ResultsStore.open(`${dir}/s${i}.db`);
      const n = s.count();
      s.close();
      return n;
    });
    assertEquals(counts.reduce((a, b) => a + b), 10);
    assertOk(counts.every((n) => n > 0), `a shard ran nothing: ${counts}`);

    const merged = await quietly(() =>
      results(["merge", `${dir}/s1.db`, `${dir}/s2.db`, `${dir}/s3.db`, "--into", `${dir}/all.db`])
    );
    assertEquals(merged.value, 0, merged.err);
    assertEquals(dump(`${dir}/all.db`), dump(`${dir}/one.db`));
    assertEquals(
      canonical(JSON.parse(await report(`${dir}/all.db`, "nightly-1", `${dir}/r-all`))),
      canonical(JSON.parse(await report(`${dir}/one.db`, "nightly-1", `${dir}/r-one`))),
    );
    // The Markdown report too, once its machine description (its load, say) is left out.
    const md = async (d: string) =>
      (await Deno.readTextFile(`${dir}/${d}/report.md`)).replace(/ · batch (\S+) · .*$/m, " · $1");
    assertEquals(await md("r-all"), await md("r-one"));

    // Merging the same shards again adds nothing: every run is a duplicate.
    const again = await quietly(() =>
      results(["merge", `${dir}/s2.db`, `${dir}/s1.db`, "--into", `${dir}/all.db`])
    );
    assertEquals(again.value, 0, again.err);
    assertEquals(dump(`${dir}/all.db`), dump(`${dir}/one.db`));

    // A missing shard: merged, but said, and exit 1.
    const part = await quietly(() =>
      results(["merge", `${dir}/s1.db`, `${dir}/s3.db`, "--into", `${dir}/part.db`])
    );
    assertEquals(part.value, 1);
    assertMatch(part.err, /batch nightly-1 \(shardy\): shard 2 of 3 missing/);

    // Runs that clash: another batch in a database of its own has the same ids. Nothing is stored,
    // and the output the merge would have created is not left behind.
    const b = await quietly(() =>
      compare([
        group,
        "--batch",
        "nightly-2",
        "--quiet",
        "--db",
        `${dir}/b.db`,
        "--out",
        `${dir}/b`,
      ])
    );
    assertEquals(b.value, 0, b.err);
    const conflict = await quietly(() =>
      results(["merge", `${dir}/one.db`, `${dir}/b.db`, "--into", `${dir}/bad.db`])
    );
    assertEquals(conflict.value, 2);
    assertMatch(conflict.err, /10 conflicting runs; nothing merged/);
    assertMatch(conflict.err, /b\.db run 1 \(batch nightly-2, shardy\/dirtyRate=4MiB\/s repeat 0/);
    assertOk(!(await exists(`${dir}/bad.db`)), "a failed merge left its output behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare and ci refuse a bad --shard or one without --batch, exit 2, nothing runs", async () => {
  for (
    const [args, message] of [
      [["capabilities", "--shard", "0/3", "--batch", "x"], /I must be a whole number from 1 to N/],
      [["capabilities", "--shard", "1/3"], /--shard 1\/3 needs --batch NAME/],
      [["capabilities", "--shard", "1/2", "--batch", "a b"], /--batch must be/],
      [["capabilities", "--shard", "1/2", "--batch", "x", "--no-db"], /excludes --no-db/],
    ] as const
  ) {
    const r = await quietly(() => compare([...args]));
    assertEquals(r.value, 2, args.join(" "));
    assertMatch(r.err, message);
    const c = await quietly(() => ci(["quick", ...args.slice(1)]));
    assertEquals(c.value, 2, `ci ${args.join(" ")}`);
    assertMatch(c.err, message);
  }
  const u = await quietly(() =>
    ci(["quick", "--update-baseline", "--shard", "1/2", "--batch", "x"])
  );
  assertEquals(u.value, 2);
  assertMatch(u.err, /--update-baseline and --shard exclude each other/);
});

Deno.test("ci --shard: the quick suite's shards in sim mode merge into the unsharded run's database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ci-shard-" });
  try {
    const common = ["quick", "--mode", "sim", "--batch", "ci-1", "--quiet"];
    const one = await quietly(() =>
      ci([...common, "--db", `${dir}/one.db`, "--junit", `${dir}/one.xml`])
    );
    assertEquals(one.value, 0, one.err);
    const junits: string[] = [];
    for (const i of [1, 2]) {
      const r = await quietly(() =>
        ci([
          ...common,
          "--shard",
          `${i}/2`,
          "--db",
          `${dir}/s${i}.db`,
          "--junit",
          `${dir}/s${i}.xml`,
        ])
      );
      assertEquals(r.value, 0, `shard ${i}: ${r.err}`);
      junits.push(await Deno.readTextFile(`${dir}/s${i}.xml`));
    }
    const m = await quietly(() =>
      results(["merge", `${dir}/s1.db`, `${dir}/s2.db`, "--into", `${dir}/all.db`])
    );
    assertEquals(m.value, 0, m.err);
    assertEquals(dump(`${dir}/all.db`), dump(`${dir}/one.db`));
    // Every scenario judged in exactly one shard's JUnit file.
    const suites = (x: string) => [...x.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1]);
    assertEquals(
      junits.flatMap(suites).sort(),
      suites(await Deno.readTextFile(`${dir}/one.xml`)).sort(),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
