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

/** Asserts that a refused command line said so in one line on stderr, ran nothing and showed no stack. */
function assertRefused(r: { code: number; stdout: string; stderr: string }, line: RegExp) {
  assertEquals(r.code, 2, r.stderr);
  assertEquals(r.stdout, "", "nothing ran");
  const lines = r.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, r.stderr);
  assertMatch(lines[0], line);
}

Deno.test("an unknown key exits 2 with its path in the message", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/typos.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "typos",
        mode: "sim",
        guest: { ram: "4MiB", workload: { kind: "random", dirtRate: "1MiB/s" } },
        migration: { capabilites: { xbzrle: true } },
        faults: [{ at: { phase: "round", rund: 2 }, action: "cut-link" }],
        expect: { downtimeMax: 1 },
      }),
    );
    const r = await run(file);
    assertEquals(r.code, 2, r.stderr);
    assertEquals(r.stdout, "", "nothing ran");
    assertEquals(r.stderr.trimEnd().split("\n"), [
      `scenario: ${file} is invalid:`,
      "  guest.workload.dirtRate: unknown field (did you mean dirtyRate?)",
      "  migration.capabilites: unknown field (did you mean capabilities?)",
      "  faults[0].at.rund: unknown field (did you mean round?)",
      "  expect.downtimeMax: unknown field (did you mean downtimeMsMax?)",
    ]);
  });
});

Deno.test("a parameter of a capability that is off is one warning line naming it, and the run goes on", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/unused.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "unused",
        mode: "sim",
        guest: { ram: "4MiB", workload: { kind: "idle" } },
        migration: { parameters: { hintTimeoutMs: 50 } },
      }),
    );
    const r = await run(file, "--quiet");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.split("\n")[0], "seed: 1");
    assertEquals(r.stderr.trimEnd().split("\n"), [
      "warning: migration.parameters.hintTimeoutMs: unused, capability freePageHints is off",
    ]);
  });
});

Deno.test("--json to a path that cannot be written exits 2 before anything runs, and nothing is stored", async () => {
  await withTempDir(async (dir) => {
    // A run would take a minute of warm-up alone: a quick exit means it never started.
    const file = `${dir}/long.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "long",
        mode: "real",
        warmupMs: 60_000,
        guest: { ram: "4MiB", workload: { kind: "idle" } },
      }),
    );
    const db = `${dir}/results.db`;
    for (
      const [json, line] of [
        [
          `${dir}/no/such/r.json`,
          /^scenario: --json .*\/no\/such\/r\.json: the folder .* does not exist$/,
        ],
        [dir, /^scenario: --json .*: is a folder, not a file$/],
        [
          `${file}/r.json`,
          /^scenario: --json .*long\.json\/r\.json: .*long\.json is not a folder$/,
        ],
      ] as const
    ) {
      const started = performance.now();
      const r = await run(file, "--json", json, "--db", db);
      const tookMs = performance.now() - started;
      assertRefused(r, line);
      assertOk(tookMs < 30_000, `took ${tookMs.toFixed(0)} ms: the run started`);
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["long.json"], "nothing stored");
    }
  });
});

Deno.test("bad options exit 2 with one line saying what, before anything runs", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/tiny.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ name: "tiny", mode: "sim", guest: { ram: "4MiB" } }),
    );
    await Deno.writeTextFile(`${dir}/plain`, "x");
    const cases: [string[], RegExp][] = [
      [["--jsn", "r.json"], /^scenario: unknown option --jsn \(did you mean --json\?\)$/],
      [["--seed", "1e3"], /^scenario: --seed must be a whole number >= 0, got "1e3"$/],
      [["--seed", ""], /^scenario: --seed must be a whole number >= 0, got ""$/],
      [["--seed=-1"], /^scenario: --seed must be a whole number >= 0, got "-1"$/],
      [["--seed", "1", "--seed", "2"], /^scenario: --seed is given more than once$/],
      [["--mode", "fast"], /^scenario: --mode must be real or sim, got "fast"$/],
      [["--mode"], /^scenario: --mode needs a value/],
      [["--quiet=yes"], /^scenario: --quiet takes no value$/],
      [["--db", `${dir}/r.db`, "--no-db"], /^scenario: --db and --no-db contradict each other/],
      [["--db", `${dir}/plain/r.db`], /^scenario: --db .*plain\/r\.db: .*plain is not a folder$/],
      [["--json", ""], /^scenario: --json: an empty path$/],
      [
        ["--json", `${dir}/same`, "--db", `${dir}/same`],
        /^scenario: --json and --db name the same file/,
      ],
      [[`${dir}/other.json`], /^scenario: one scenario at a time, got /],
    ];
    for (const [args, line] of cases) assertRefused(await run(file, ...args), line);
    assertRefused(
      await run(`${dir}/other.json`),
      /^scenario: Scenario ".*other\.json" not found: no file /,
    );
    assertRefused(await run(dir), /^scenario: .*: is a folder, not a scenario file$/);
    assertRefused(
      await run("defualt"),
      /^scenario: Scenario "defualt" not found: .*\(did you mean default\?\)$/,
    );
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["plain", "tiny.json"],
      "nothing left behind",
    );
  });
});
