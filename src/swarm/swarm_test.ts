/**
 * The seed swarm: distinct draws from any seed, verdicts per invariant, the
 * free-page hint property, and the command's options and output.
 * @module
 */
import { assertEquals, assertMatch, assertOk, assertThrows } from "../util/assert.ts";
import { resolveScenario } from "../scenario/validate.ts";
import { runScenario } from "../scenario/runner.ts";
import type { BalloonBehaviour, Result, Scenario } from "../contract/types.ts";
import {
  askKey,
  BALLOON_BEHAVIOURS,
  checkInvariants,
  drawScenario,
  type Invariant,
  INVARIANTS,
  judgeRun,
  swarmSeed,
  type Verdict,
} from "./swarm.ts";
import { main } from "./swarm_cli.ts";

const COMMIT = "3f2a9c0d5e7b1a4c6d8e0f1a2b3c4d5e6f708192";

Deno.test("swarm: 200 draws from a 40-hex-digit commit ask 200 distinct things", () => {
  const asks = new Set<string>();
  const seeds = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const s = drawScenario(COMMIT, i);
    // Distinct in what they ask: name, description and seed left out.
    asks.add(askKey(s));
    assertOk(Number.isSafeInteger(s.seed), `${s.name}: seed ${s.seed}`);
    seeds.add(s.seed!);
    const { errors } = resolveScenario(s);
    assertEquals(errors, [], `${s.name} is valid`);
  }
  assertEquals(asks.size, 200);
  assertEquals(seeds.size, 200);
});

Deno.test("swarm: draws mappedRam with a file transport, stream files too, and only faults a save has", () => {
  let mapped = 0, stream = 0;
  for (let i = 0; i < 300; i++) {
    const s = drawScenario(COMMIT, i);
    const t = s.migration?.transport;
    if (s.migration?.capabilities?.mappedRam) {
      assertEquals(t?.kind, "file", `${s.name}: mappedRam without a file`);
      mapped++;
    } else if (t?.kind === "file") stream++;
    if (t?.kind === "file") {
      assertEquals(s.retry, undefined, s.name);
      for (const f of s.faults ?? []) {
        assertOk(["kill-source", "stop-source", "cancel"].includes(f.action), f.action);
      }
    }
  }
  assertOk(mapped >= 30 && stream >= 5, `${mapped} mapped-ram draws, ${stream} stream-file draws`);
});

Deno.test("swarm: a draw depends on its seed and index only, whole", () => {
  assertEquals(JSON.stringify(drawScenario(COMMIT, 3)), JSON.stringify(drawScenario(COMMIT, 3)));
  // Commits that differ only in their last digit draw other scenarios.
  const other = COMMIT.slice(0, 39) + "3";
  assertOk(askKey(drawScenario(COMMIT, 0)) !== askKey(drawScenario(other, 0)));
  // The same number however written; a commit in either case.
  assertEquals(drawScenario("007", 1), drawScenario(7, 1));
  assertEquals(drawScenario("DEADBEEF", 1), drawScenario("deadbeef", 1));
  assertEquals(drawScenario(7, 1, { mode: "real" }).mode, "real");
  assertEquals(swarmSeed("0123abc"), "0123abc");
  assertEquals(swarmSeed("0042"), "42");
  // Digits past 2^53 can only be a commit: kept whole as text, never rounded.
  assertEquals(swarmSeed("99999999999999999"), "99999999999999999");
  for (const bad of ["", "12ab", "x1234567", "-1", "1.5", "a".repeat(41)]) {
    assertThrows(() => swarmSeed(bad), TypeError, bad);
  }
  assertThrows(() => drawScenario(1, -1), RangeError);
});

/** The balloon behaviour a scenario puts under the hint property, or null. */
function underHintProperty(s: Scenario): string | null {
  const p = s.migration?.parameters ?? {};
  if (!s.migration?.capabilities?.freePageHints || (s.faults ?? []).length) return null;
  if ((p.onNoConvergence ?? "force") !== "force" || (p.hintSource ?? "balloon") !== "balloon") {
    return null;
  }
  return s.guest?.balloon?.behaviour ?? "honest";
}

Deno.test("swarm: 1000 draws put every balloon behaviour under the hint property often", () => {
  for (const seed of [COMMIT, "1"]) {
    const n: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const b = underHintProperty(drawScenario(seed, i));
      if (b) n[b] = (n[b] ?? 0) + 1;
    }
    for (const b of BALLOON_BEHAVIOURS) {
      assertOk((n[b] ?? 0) >= 15, `seed ${seed}: ${b} ${n[b] ?? 0} times in 1000`);
    }
  }
});

/** A plausible completed result, to be spoiled by each test. */
function completed(s: Scenario, extra: Partial<Result> = {}): Result {
  return {
    scenario: s.name,
    seed: s.seed ?? 0,
    mode: "sim",
    outcome: "completed",
    memoryEqual: true,
    mismatchedPages: 0,
    mismatchedAddresses: [],
    downtimeMs: 1,
    totalTimeMs: 10,
    setupTimeMs: 0,
    iterations: 1,
    bytes: { total: 10, normal: 10, zero: 0 },
    pages: { total: 1_000_000, normal: 1_000_000, zero: 0 },
    progress: [],
    faults: [],
    expectations: [],
    passed: true,
    wall: {},
    sourceGuestRunning: false,
    destinationGuestRunning: true,
    destination: { outcome: "completed", error: null, receivedBytes: 10, touchesAfterResume: 0 },
    ...extra,
  };
}

function verdictOf(s: Scenario, r: Result | null, name: string, thrown: string | null = null) {
  const j = judgeRun({ scenario: s, result: r, errors: [], thrown }).find((j) =>
    j.invariant === name
  );
  assertOk(j, `no invariant ${name}`);
  return j;
}

Deno.test("swarm: the checker flags what is wrong", () => {
  const s = drawScenario(1, 0);
  const bad = completed(s, {
    memoryEqual: false,
    mismatchedPages: 2,
    mismatchedAddresses: ["pc.ram+0x0"],
    pages: { total: 1, normal: 1, zero: 0 },
    bytes: { total: 10, normal: 4, zero: 0, overhead: 5 },
    sourceGuestRunning: true,
    destinationGuestRunning: true,
    destination: { outcome: "completed", error: null, receivedBytes: 9, touchesAfterResume: 0 },
  });
  const names = checkInvariants(s, bad).map((v) => v.invariant);
  for (
    const n of [
      "memory equal at completion",
      "no page left unsent",
      "bytes sent arrive",
      "bytes by kind add up",
      "at most one guest runs at the end",
    ]
  ) assertOk(names.includes(n), `${n} flagged: ${names.join(", ")}`);
  assertEquals(checkInvariants(s, completed(s)), []);
  // memoryEqual false with no page differing: the detail says why.
  const counterBroken = completed(s, {
    memoryEqual: false,
    counterInvariant: { ok: false, detail: "page 334: counter 1 after 0" },
    liarMismatchedPages: 24,
  });
  assertEquals(
    verdictOf(s, counterBroken, "memory equal at completion").detail,
    "0 page(s) differ; counter invariant broken: page 334: counter 1 after 0; " +
      "24 page(s) lied about differ, not counted",
  );
  const failed = completed(s, { outcome: "failed", sourceGuestRunning: false, memoryEqual: false });
  const f = checkInvariants(s, failed).map((v) => v.invariant);
  assertOk(f.includes("source runs after a failure"), f.join(", "));
  assertOk(f.includes("source intact after a failure"), f.join(", "));
  assertEquals(verdictOf(s, null, "harness never throws", "Error: boom").verdict, "broken");
  assertEquals(
    verdictOf(s, null, "memory equal at completion", "Error: boom").verdict,
    "not-judged",
  );
});

Deno.test("swarm: at most one guest runs is judged on the guests, and never held unreported", () => {
  const s = drawScenario(1, 0);
  const v = (extra: Partial<Result>) =>
    verdictOf(s, completed(s, extra), "at most one guest runs at the end").verdict;
  // The destination's outcome is not its guest running: a destination that
  // completed loading but never resumed is no second guest.
  assertEquals(v({ sourceGuestRunning: true, destinationGuestRunning: false }), "held");
  assertEquals(v({ sourceGuestRunning: false, destinationGuestRunning: true }), "held");
  assertEquals(v({ sourceGuestRunning: true, destinationGuestRunning: true }), "broken");
  assertEquals(v({ sourceGuestRunning: true, destinationGuestRunning: undefined }), "not-judged");
  assertEquals(v({ sourceGuestRunning: undefined, destinationGuestRunning: false }), "not-judged");
  const failed = completed(s, { outcome: "failed", sourceGuestRunning: undefined });
  assertEquals(verdictOf(s, failed, "source runs after a failure").verdict, "not-judged");
});

Deno.test("swarm: a real run leaves nothing behind; a sim run is not concerned", () => {
  const s = drawScenario(1, 0, { mode: "real" });
  const v = (extra: Partial<Result>) =>
    verdictOf(s, completed(s, extra), "nothing left behind").verdict;
  const clean = { processesLeft: [], tempFilesLeft: [], namespacesLeft: [] };
  assertEquals(v({ mode: "real", cleanup: clean }), "held");
  assertEquals(v({ mode: "real", cleanup: { ...clean, processesLeft: [4242] } }), "broken");
  assertEquals(v({ mode: "real", cleanup: { ...clean, tempFilesLeft: ["x"] } }), "broken");
  assertEquals(v({ mode: "real", cleanup: undefined }), "not-judged");
  assertEquals(v({ mode: "sim" }), "not-concerned");
});

Deno.test("swarm: an invariant that throws is unknown, counted apart, and judging goes on", () => {
  const s = drawScenario(1, 0);
  const throwing: Invariant = {
    name: "throws",
    judge: () => {
      throw new Error("broken checker");
    },
  };
  const js = judgeRun({ scenario: s, result: completed(s), errors: [], thrown: null }, [
    throwing,
    ...INVARIANTS,
  ]);
  assertEquals(js[0], {
    invariant: "throws",
    verdict: "unknown",
    detail: "the invariant threw: broken checker",
  });
  assertOk(js.slice(1).every((j) => j.verdict !== "unknown"), JSON.stringify(js));
  // A malformed result makes the built-in invariants unknown, not a crash.
  const malformed = { outcome: "failed" } as unknown as Result;
  const v = checkInvariants(s, malformed);
  assertOk(
    v.some((x) => x.invariant === "source runs after a failure" && /^unknown: /.test(x.detail)),
    JSON.stringify(v),
  );
});

Deno.test("swarm: the free-page hint property, for each behaviour", () => {
  const base = drawScenario(1, 0);
  const scenario = (behaviour: BalloonBehaviour): Scenario => ({
    ...base,
    guest: { ram: "4MiB", balloon: { behaviour } },
    migration: { capabilities: { freePageHints: true }, parameters: { onNoConvergence: "force" } },
    faults: [],
  });
  const name = (b: string) => `free-page hints, ${b} balloon: completes, in-use pages equal`;
  const v = (s: Scenario, r: Partial<Result>, b: string): Verdict =>
    verdictOf(s, completed(s, r), name(b)).verdict;
  for (const b of BALLOON_BEHAVIOURS) {
    const s = scenario(b);
    assertEquals(v(s, {}, b), "held", b);
    assertEquals(v(s, { outcome: "failed" }, b), "broken", b);
    assertEquals(v(s, { memoryEqual: false, mismatchedPages: 3 }, b), "broken", b);
    assertEquals(v(s, { memoryEqual: null }, b), "not-judged", b);
    // Lies set apart count only for a liar, and never beyond its lies.
    const lied = { liedPages: 5, liarMismatchedPages: 2 };
    assertEquals(v(s, lied, b), b === "liar" ? "held" : "broken", b);
    assertEquals(v(s, { liedPages: 1, liarMismatchedPages: 2 }, b), "broken", b);
    // Other behaviours' invariants, faults, or the cancel policy: not concerned.
    for (const other of BALLOON_BEHAVIOURS.filter((o) => o !== b)) {
      assertEquals(v(s, {}, other), "not-concerned");
    }
    const withFault = { ...s, faults: [{ at: { afterMs: 1 }, action: "cancel" as const }] };
    assertEquals(v(withFault, {}, b), "not-concerned");
    const cancel = {
      ...s,
      migration: {
        capabilities: { freePageHints: true },
        parameters: { onNoConvergence: "cancel" },
      },
    };
    assertEquals(v(cancel, { outcome: "cancelled" }, b), "not-concerned");
  }
  // No balloon named: the default balloon is honest.
  const plain = { ...scenario("honest"), guest: { ram: "4MiB" } };
  assertEquals(v(plain, {}, "honest"), "held");
});

Deno.test("swarm: twelve drawn scenarios run in simulation and hold every invariant", async () => {
  for (let i = 0; i < 12; i++) {
    const s = drawScenario("0123abc", i);
    const r = await runScenario(s);
    assertEquals(checkInvariants(s, r), [], `${s.name}: ${JSON.stringify(s)}`);
  }
});

/** Runs the CLI in-process and collects its lines. */
async function cli(args: string[], run?: (s: Scenario) => Promise<Result>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { run, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

async function withTempDir(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "ferry-swarm-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("swarm command: bad options exit 2 before anything runs", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/a-file`;
    await Deno.writeTextFile(file, "");
    let ran = 0;
    const run = (s: Scenario) => (ran++, Promise.resolve(completed(s)));
    const cases: [string[], RegExp][] = [
      [["--seed", "not-a-seed"], /Swarm seed must be a whole number .* or a git commit hash/],
      [["--count", "0"], /--count must be a whole number >= 1, got "0"/],
      [["--count", "2x"], /--count must be a whole number >= 1, got "2x"/],
      [["--from=-1"], /--from must be a whole number >= 0/],
      [["--mode", "fast"], /--mode must be "sim" or "real", got "fast"/],
      [["--out", file], /--out .*a-file: is not a folder/],
      [["--out", `${file}/sub`], /--out .*a-file\/sub/],
      [["--bogus"], /bogus/],
      [["extra"], /unexpected argument extra/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(["--seed", "1", "--count", "1", "--out", dir, ...args], run);
      assertEquals(r.code, 2, args.join(" "));
      assertEquals(r.out, [], args.join(" "));
      assertMatch(r.err.join("\n"), message);
    }
    assertEquals(ran, 0);
    // A folder that does not exist yet, in a folder that does, is fine, and is not made.
    const later = `${dir}/later/swarm`;
    const ok = await cli(["--seed", "1", "--count", "1", "--out", later], run);
    assertEquals(ok.code, 0, ok.out.join("\n"));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["a-file"]);
  });
});

Deno.test("swarm command: --dry-run prints one JSON scenario a line on stdout, runs nothing", async () => {
  let ran = 0;
  const r = await cli(
    ["--seed", COMMIT, "--count", "5", "--from", "2", "--dry-run", "--mode", "real"],
    (s) => (ran++, Promise.resolve(completed(s))),
  );
  assertEquals(r.code, 0);
  assertEquals(ran, 0);
  assertEquals(r.out.length, 5);
  assertEquals(
    r.out.map((l) => JSON.parse(l)),
    [2, 3, 4, 5, 6].map((i) => ({
      ...drawScenario(COMMIT, i, { mode: "real" }),
    })),
  );
  assertEquals(r.err[0], `swarm seed: ${COMMIT}`);
});

Deno.test("swarm command: --dry-run's stdout is pure JSON lines from the real command", async () => {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./swarm_cli.ts", import.meta.url).pathname, "--seed", "9"]
      .concat(["--count", "3", "--dry-run"]),
    stdout: "piped",
    stderr: "piped",
  });
  const o = await cmd.output();
  assertEquals(o.code, 0);
  const lines = new TextDecoder().decode(o.stdout).trimEnd().split("\n");
  assertEquals(lines.map((l) => JSON.parse(l).name), ["swarm-9-0", "swarm-9-1", "swarm-9-2"]);
  assertMatch(new TextDecoder().decode(o.stderr), /^swarm seed: 9\n/);
});

Deno.test("swarm command: seed first, counts per invariant, each failure's replay command last", async () => {
  await withTempDir(async (dir) => {
    // Draw 1 "runs" into split brain; the others are fine.
    const run = (s: Scenario) =>
      Promise.resolve(
        s.name.endsWith("-1") ? completed(s, { sourceGuestRunning: true }) : completed(s),
      );
    const r = await cli(["--seed", "5", "--count", "3", "--out", dir], run);
    assertEquals(r.code, 1);
    assertEquals(r.out[0], "swarm seed: 5");
    assertMatch(r.out.join("\n"), /^FAIL #1 swarm-5-1: completed/m);
    assertMatch(
      r.out.join("\n"),
      /^ {2}at most one guest runs at the end: judged 3, broken 1, could not judge 0, unknown 0 \(0 runs not concerned\)$/m,
    );
    assertMatch(r.out.join("\n"), /2\/3 held, 1 failed; 3 distinct scenarios/);
    assertEquals(r.out.at(-1), "replay #1: deno task swarm --seed 5 --from 1 --count 1 --mode sim");
    assertEquals(
      JSON.parse(await Deno.readTextFile(`${dir}/swarm-5-1.json`)),
      drawScenario(5, 1),
    );
    assertEquals([...Deno.readDirSync(dir)].length, 1);
    // Every invariant has its line, judged or not.
    for (const inv of INVARIANTS) {
      assertOk(r.out.some((l) => l.startsWith(`  ${inv.name}: judged `)), inv.name);
    }
  });
});

Deno.test("swarm command: a replay runs the very draw, with the same verdicts", async () => {
  const whole = await cli(["--seed", "77", "--count", "3"]);
  const replay = await cli(["--seed", "77", "--from", "2", "--count", "1"]);
  assertEquals(whole.code, 0, whole.out.join("\n"));
  assertEquals(replay.code, 0, replay.out.join("\n"));
  const line = (r: { out: string[] }) => r.out.find((l) => / #2 /.test(l));
  assertOk(line(whole));
  assertEquals(line(replay), line(whole));
});
