/**
 * The scenario command line: seed first, exit codes, replay line, errors that say what and where.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";

const CLI = new URL("../src/report/scenario_cli.ts", import.meta.url).pathname;

/** Runs the CLI; runs are not stored unless the test names a database. */
async function run(...args: string[]) {
  const db = args.includes("--db") ? [] : ["--no-db"];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args, ...db],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withTempDir(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "ferry-cli-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("invalid input exits 2 with what and where", async () => {
  await withTempDir(async (dir) => {
    const broken = `${dir}/broken.json`;
    await Deno.writeTextFile(broken, '{"name": "x",');
    const a = await run(broken);
    assertEquals(a.code, 2);
    assertMatch(a.stderr, /broken\.json: not valid JSON/);

    const invalid = `${dir}/invalid.json`;
    await Deno.writeTextFile(
      invalid,
      JSON.stringify({
        name: "x",
        guest: { ram: "1Zib", fill: "plaid" },
        expect: { outcome: "won" },
      }),
    );
    const b = await run(invalid);
    assertEquals(b.code, 2);
    for (const field of ["guest.ram:", "guest.fill:", "expect.outcome:"]) {
      assertOk(b.stderr.includes(field), b.stderr);
    }

    const c = await run("no-such-scenario");
    assertEquals(c.code, 2);
    assertMatch(c.stderr, /not found.*known: .*default/s);

    const d = await run("default", "--seed", "abc");
    assertEquals(d.code, 2);
    assertMatch(d.stderr, /--seed must be a whole number/);
  });
});

Deno.test("a failed expectation exits 1, prints the seed first and the replay command last", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/strict.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "strict",
        seed: 5,
        guest: { ram: "8MiB", workload: { kind: "idle" } },
        expect: { bytesMax: 1000 },
      }),
    );
    const r = await run(file, "--quiet", "--json", `${dir}/result.json`);
    assertEquals(r.code, 1, r.stderr);
    assertEquals(r.stdout.split("\n")[0], "seed: 5");
    assertMatch(r.stdout, /FAIL bytesMax/);
    assertMatch(
      r.stdout.trim().split("\n").at(-1)!,
      /^replay: deno task scenario .*strict\.json --seed 5 --mode real$/,
    );
    const result = JSON.parse(await Deno.readTextFile(`${dir}/result.json`));
    assertEquals(result.passed, false);
    assertEquals(result.memoryEqual, true);
  });
});

Deno.test("every run is stored in the results database, and results lists it", async () => {
  await withTempDir(async (dir) => {
    const db = `${dir}/results.db`;
    const file = `${dir}/tiny.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "tiny",
        mode: "sim",
        guest: { ram: "4MiB", workload: { kind: "idle" } },
      }),
    );
    const out = await run(file, "--quiet", "--db", db);
    assertEquals(out.code, 0, out.stderr);
    assertMatch(out.stdout, /stored as run 1 in /);
    const RESULTS = new URL("../src/report/results_cli.ts", import.meta.url).pathname;
    const listed = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", RESULTS, "--db", db, "--kind", "scenario", "--json"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(listed.stdout);
    assertEquals(listed.code, 0, new TextDecoder().decode(listed.stderr));
    assertMatch(text, /"tiny"/);
    assertMatch(text, /"sim"/);
  });
});
