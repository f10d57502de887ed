/**
 * The seed swarm: random but valid scenarios drawn from one seed, each run
 * (in simulation, or between real peer processes) and judged by invariants
 * that must hold whatever the scenario.
 *
 * **Drawing.** The swarm's seed text (a whole number, or a git commit of 7 to
 * 40 hex digits) is the root of a {@link SeedTree}; draw `i` forks its own
 * stream `draw-i` from it, so every index gives its own scenario whatever the
 * seed, and no draw depends on another. The scenario's own `seed` (which
 * decides its fill, workload and jitter) is a safe whole number forked from
 * that stream.
 *
 * **Judging.** Each invariant, for each run, comes to one verdict:
 * `held` or `broken` (it judged the run), `not-judged` (it concerns the run
 * but a figure it needs was not reported: never counted as held),
 * `unknown` (the invariant itself threw; counted apart) or
 * `not-concerned` (the run is outside what it speaks about). The invariants:
 *
 * - every drawn scenario is valid, and the harness never throws on one;
 * - a completed migration leaves the destination's memory equal to the
 *   source's at stop, reports its figures, sends every page at least once,
 *   and its destination received exactly the bytes the source sent;
 * - a failed or cancelled one leaves the source guest running and intact
 *   (unless the scenario killed the source);
 * - bytes and pages by kind add up to their totals;
 * - at most one guest runs at the end (the result's `sourceGuestRunning`
 *   and `destinationGuestRunning`);
 * - without faults and with `onNoConvergence: force`, the migration completes;
 * - free-page hints (issue 21), one invariant per balloon behaviour: a
 *   fault-free forced migration completes, and every page the guest holds in
 *   use is equal at the destination, whatever the balloon says or does (pages
 *   a liar hinted free while in use are counted apart and only for a liar);
 * - a real run leaves no process, temporary file or namespace behind.
 *
 * @example
 * ```ts
 * import { drawScenario, judgeRun } from "./swarm.ts";
 * const s = drawScenario("0123abc", 0);
 * console.log(s.mode, Number.isSafeInteger(s.seed)); // "sim" true
 * const verdicts = judgeRun({ scenario: s, result: null, errors: ["not run"], thrown: null });
 * console.log(verdicts[0].verdict); // "broken": the scenario was called invalid
 * ```
 * @module
 */
import { CAPABILITIES, resolveMigration } from "../engine/capabilities.ts";
import { PAGE_SIZE } from "../contract/page.ts";
import { Prng } from "../util/prng.ts";
import { SeedTree } from "../util/seed_tree.ts";
import { parseSize } from "../util/size.ts";
import { FAULT_ACTIONS } from "../scenario/validate.ts";
import { FILE_FAULT_ACTIONS } from "../scenario/transport.ts";
import type {
  BalloonBehaviour,
  FaultPhase,
  FaultSpec,
  NetworkSpec,
  Result,
  Scenario,
  TransportSpec,
  WorkloadKind,
} from "../contract/types.ts";

/**
 * The canonical text of a swarm seed: a whole number below 2^53 in decimal
 * (leading zeros dropped), or a git commit hash of 7 to 40 hex digits in
 * lower case. Throws TypeError for anything else.
 *
 * @example
 * ```ts
 * import { swarmSeed } from "./swarm.ts";
 * console.log(swarmSeed("007"), swarmSeed("DEADBEEF")); // "7" "deadbeef"
 * ```
 */
export function swarmSeed(text: string): string {
  if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return String(Number(text));
  if (/^[0-9a-f]{7,40}$/i.test(text)) return text.toLowerCase();
  throw new TypeError(
    `Swarm seed must be a whole number below 2^53 or a git commit hash of 7 to 40 hex digits, got ${
      JSON.stringify(text)
    }`,
  );
}

/**
 * The root of the swarm's seed tree: a whole-number seed as that number, a
 * commit hash as its text, hashed whole (every digit counts). Throws
 * TypeError as {@link swarmSeed} does.
 *
 * @example
 * ```ts
 * import { swarmRoot } from "./swarm.ts";
 * console.log(swarmRoot("42").fork("draw-0").seed() === swarmRoot("042").fork("draw-0").seed()); // true
 * ```
 */
export function swarmRoot(seed: string | number): SeedTree {
  const text = swarmSeed(String(seed));
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text))
    ? SeedTree.from(Number(text))
    : SeedTree.from(text);
}

/** Workload kinds the swarm draws. */
const KINDS: WorkloadKind[] = ["idle", "sequential", "random", "hotset", "xbrle-seed", "counter"];
const PHASES: FaultPhase[] = ["setup", "bulk", "round", "stop-and-copy", "device-state", "resume"];
/**
 * Every balloon behaviour; each has its own free-page-hint invariant.
 *
 * @example
 * ```ts
 * import { BALLOON_BEHAVIOURS } from "./swarm.ts";
 * console.log(BALLOON_BEHAVIOURS.length); // 7
 * ```
 */
export const BALLOON_BEHAVIOURS: readonly BalloonBehaviour[] = [
  "honest",
  "silent",
  "slow",
  "stale",
  "flood",
  "garbage",
  "liar",
];
const MIB = 1024 * 1024;

/**
 * Options of {@link drawScenario}.
 *
 * @example
 * ```ts
 * import { drawScenario, type DrawOptions } from "./swarm.ts";
 * const options: DrawOptions = { mode: "real" };
 * console.log(drawScenario(1, 0, options).mode); // "real"
 * ```
 */
export interface DrawOptions {
  /** The mode the scenario runs in (default "sim"). */
  mode?: "real" | "sim";
}

/**
 * A 128-bit generator for one node of the seed tree: each of its four state
 * words comes from a fork of its own, so two draws share a stream only if
 * their nodes share all 64 bits (a Prng seeded with one number has 2^32
 * starting states, too few to keep a thousand draws apart for sure).
 */
function streamOf(node: SeedTree): Prng {
  const words: number[] = [0, 1, 2, 3].map((w) => node.fork(`word-${w}`).seed() % 2 ** 32);
  if (words[0] + words[1] + words[2] + words[3] === 0) words[0] = 1;
  return Prng.fromState(words);
}

/**
 * The `index`th scenario of the swarm with seed `seed` (a swarm seed's text
 * or a whole number); the same pair always gives the same scenario, and two
 * indexes give two streams. Throws TypeError for a bad seed and RangeError
 * for an index that is not a whole number >= 0.
 *
 * @example
 * ```ts
 * import { drawScenario } from "./swarm.ts";
 * const a = drawScenario("3f2a9c0d5e7b1a4c6d8e0f1a2b3c4d5e6f708192", 0);
 * const b = drawScenario("3f2a9c0d5e7b1a4c6d8e0f1a2b3c4d5e6f708192", 1, { mode: "real" });
 * console.log(a.name, b.mode); // "swarm-3f2a9c0d5e7b1a4c6d8e0f1a2b3c4d5e6f708192-0" "real"
 * ```
 */
export function drawScenario(
  seed: string | number,
  index: number,
  options: DrawOptions = {},
): Scenario {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`a draw index must be a whole number >= 0, got ${index}`);
  }
  const seedText = swarmSeed(String(seed));
  const node = swarmRoot(seedText).fork(`draw-${index}`);
  const r = streamOf(node);
  const pick = <T>(xs: readonly T[]): T => xs[r.nextInt(xs.length)];
  const chance = (p: number) => r.nextFloat() < p;
  const ramMiB = pick([4, 8, 16, 32]);
  const kind = pick(KINDS);
  const dirtyMiBs = kind === "idle" ? 0 : pick([1, 4, 16, 32, 64, 128]);
  const guest: NonNullable<Scenario["guest"]> = {
    ram: `${ramMiB}MiB`,
    fill: pick(["random", "random", "compressible", "zero"] as const),
    workload: {
      kind,
      ...(kind === "idle" ? {} : { dirtyRate: `${dirtyMiBs}MiB/s` }),
      ...(kind === "xbrle-seed" || kind === "counter"
        ? {}
        : { writeBytes: pick([1, 8, 64, 512, PAGE_SIZE]) }),
      ...(kind === "hotset"
        ? { hotsetRatio: pick([0.01, 0.05, 0.2]), hotsetProbability: pick([0.5, 0.9, 0.99]) }
        : {}),
    },
  };
  const capabilities: Record<string, boolean> = {};
  for (const c of CAPABILITIES) {
    // Free-page hints more often: seven balloon behaviours share them.
    if (chance(c.name === "freePageHints" ? 0.6 : 0.4)) capabilities[c.name] = true;
  }
  // A file transport (docs/mapped_ram.md) with mappedRam, and now and then a stream to a file.
  const toFile = capabilities.mappedRam === true || chance(0.1);
  const transport: TransportSpec | undefined = toFile
    ? {
      kind: "file",
      bandwidth: pick(["200MiB/s", "1GiB/s", "4GiB/s"]),
      ...(chance(0.2) ? { sizeLimit: pick(["1MiB", `${ramMiB / 2}MiB`]) } : {}),
    }
    : undefined;
  // Drop capabilities until the combination is valid (mappedRam, which the transport needs, last).
  for (
    const name of Object.keys(capabilities).sort((a, b) =>
      (a === "mappedRam" ? 1 : 0) - (b === "mappedRam" ? 1 : 0)
    )
  ) {
    if (resolveMigration({ capabilities, transport }).errors.length === 0) break;
    delete capabilities[name];
  }
  // A balloon, honest or hostile, when free-page hints are on; free memory
  // too, except for the counter workload, whose invariant spans every page.
  if (capabilities.freePageHints && chance(0.9)) {
    if (kind !== "counter") guest.freeRatio = pick([0, 0.25, 0.5, 0.75, 0.9]);
    guest.balloon = { behaviour: pick(BALLOON_BEHAVIOURS) };
  }
  const parameters: Record<string, unknown> = {
    // Capability parameters where the defaults would hide behaviour (a small cache misses).
    ...(capabilities.xbzrle ? { xbzrleCacheSize: pick(["64KiB", "1MiB", "16MiB"]) } : {}),
    ...(capabilities.compress
      ? { compressMethod: pick(["deflate", "zstd"]), compressLevel: pick([1, 6]) }
      : {}),
    ...(capabilities.freePageHints ? { hintTimeoutMs: pick([20, 200, 1000]) } : {}),
    downtimeLimitMs: pick([5, 30, 100, 300, 1000]),
    maxRounds: pick([2, 5, 10, 30]),
    maxTimeMs: pick([2_000, 5_000, 10_000]),
    onNoConvergence: pick(["force", "force", "cancel"]),
    peerTimeoutMs: pick([500, 1_000, 3_000]),
  };
  if (chance(0.3)) parameters.maxBandwidth = pick(["50Mbit", "200Mbit", "1Gbit"]);
  const network: NetworkSpec = {};
  if (chance(0.7)) network.bandwidth = pick(["20Mbit", "100Mbit", "1Gbit", "10Gbit"]);
  if (chance(0.5)) network.latencyMs = pick([0.1, 1, 5, 20]);
  if (chance(0.3)) network.jitterMs = pick([0.5, 2, 10]);
  if (network.bandwidth && chance(0.2)) {
    network.schedule = [{ atMs: pick([50, 300, 1000]), bandwidth: pick(["10Mbit", "2Gbit"]) }];
  }
  const faults: FaultSpec[] = [];
  const nFaults = chance(0.5) ? 0 : chance(0.7) ? 1 : 2;
  for (let i = 0; i < nFaults; i++) {
    const action = pick(toFile ? FILE_FAULT_ACTIONS : FAULT_ACTIONS);
    const t = r.nextInt(3);
    let at: FaultSpec["at"];
    if (t === 0) {
      const phase = pick(PHASES);
      at = phase === "round" ? { phase, round: 1 + r.nextInt(3) } : { phase };
    } else {
      at = t === 1 ? { afterBytes: r.nextInt(ramMiB * MIB) } : { afterMs: r.nextInt(2_000) };
    }
    const f: FaultSpec = { at, action };
    if (action === "partition" || action === "stop-source" || action === "stop-destination") {
      f.durationMs = pick([50, 300, 800, 5_000]);
    }
    if (action === "corrupt") f.bytes = pick([1, 4, 64]);
    faults.push(f);
  }
  const retry = !toFile && faults.length > 0 && chance(0.3);
  // hashDedup needs a checkpoint on the destination: this guest's, taken during the warm-up.
  const warmupMs = capabilities.hashDedup ? pick([50, 200]) : pick([0, 50, 200]);
  const destination = capabilities.hashDedup
    ? { checkpoint: { source: "guest" as const, atMs: pick([0, warmupMs / 2, warmupMs - 1]) } }
    : null;
  return {
    name: `swarm-${seedText}-${index}`,
    description: `drawn by the seed swarm (seed ${seedText}, draw ${index})`,
    seed: node.fork("run-seed").seed(),
    mode: options.mode ?? "sim",
    guest,
    migration: { capabilities, parameters, ...(transport ? { transport } : {}) },
    network,
    faults,
    ...(retry ? { retry: true } : {}),
    warmupMs,
    settleMs: 50,
    ...(destination ? { destination } : {}),
  };
}

/**
 * What a scenario asks, as text: the scenario without its name, description
 * and seed. Two draws that ask the same thing of the lab have the same key.
 *
 * @example
 * ```ts
 * import { askKey, drawScenario } from "./swarm.ts";
 * const s = drawScenario(1, 0);
 * console.log(askKey(s) === askKey({ ...s, name: "other", seed: 2 })); // true
 * ```
 */
export function askKey(s: Scenario): string {
  const { name: _n, description: _d, seed: _s, ...ask } = s;
  return JSON.stringify(ask);
}

/**
 * One run for the invariants to judge.
 *
 * @example
 * ```ts
 * import { drawScenario, type SwarmRun } from "./swarm.ts";
 * const run: SwarmRun = { scenario: drawScenario(1, 0), result: null, errors: [], thrown: "Error: boom" };
 * ```
 */
export interface SwarmRun {
  scenario: Scenario;
  /** The result; null when the scenario was invalid or the run threw. */
  result: Result | null;
  /** Validation errors of the scenario (empty when valid). */
  errors: string[];
  /** What the run threw (a stack or message); null when it returned. */
  thrown: string | null;
}

/**
 * An invariant's verdict on one run.
 *
 * @example
 * ```ts
 * import type { Verdict } from "./swarm.ts";
 * const v: Verdict = "not-judged"; // concerned, but a figure it needs was not reported
 * ```
 */
export type Verdict = "held" | "broken" | "not-judged" | "unknown" | "not-concerned";

/**
 * One invariant's verdict on one run, with what it saw.
 *
 * @example
 * ```ts
 * import type { Judgement } from "./swarm.ts";
 * const j: Judgement = { invariant: "bytes sent arrive", verdict: "held", detail: "" };
 * ```
 */
export interface Judgement {
  invariant: string;
  verdict: Verdict;
  /** What broke, what was missing, or what the invariant threw; "" when it held. */
  detail: string;
}

/** What a judge function returns; an exception becomes `unknown`. */
export type Finding =
  | { verdict: "held" }
  | { verdict: "not-concerned" }
  | { verdict: "broken" | "not-judged"; detail: string };

const HELD: Finding = { verdict: "held" };
const NOT_CONCERNED: Finding = { verdict: "not-concerned" };
const broken = (detail: string): Finding => ({ verdict: "broken", detail });
const notJudged = (detail: string): Finding => ({ verdict: "not-judged", detail });
const holds = (ok: boolean, detail: string): Finding => ok ? HELD : broken(detail);

/**
 * An invariant: a name and a judge of one run.
 *
 * @example
 * ```ts
 * import { drawScenario, type Invariant, judgeRun } from "./swarm.ts";
 * const small: Invariant = {
 *   name: "small guest",
 *   judge: (run) => run.scenario.guest?.ram === "4MiB" ? { verdict: "held" } : { verdict: "not-concerned" },
 * };
 * console.log(judgeRun({ scenario: drawScenario(1, 0), result: null, errors: [], thrown: null }, [small]));
 * ```
 */
export interface Invariant {
  name: string;
  judge(run: SwarmRun): Finding;
}

/** The judge of a run that has a result; a run without one is not judged. */
function withResult(judge: (s: Scenario, r: Result) => Finding): (run: SwarmRun) => Finding {
  return (run) =>
    run.result
      ? judge(run.scenario, run.result)
      : run.errors.length
      ? NOT_CONCERNED
      : notJudged("no result: the run threw");
}

/** Why `memoryEqual` is false: pages that differ, the counter invariant, lies set apart. */
function memoryDetail(r: Result, what = "page(s) differ"): string {
  const parts = [
    `${r.mismatchedPages} ${what}` +
    (r.mismatchedPages ? `: ${r.mismatchedAddresses.join(", ")}` : ""),
  ];
  if (r.counterInvariant && !r.counterInvariant.ok) {
    parts.push(`counter invariant broken: ${r.counterInvariant.detail}`);
  }
  const liar = r.liarMismatchedPages ?? 0;
  if (liar) parts.push(`${liar} page(s) lied about differ, not counted`);
  return parts.join("; ");
}

const fired = (r: Result, action: string) => r.faults.some((f) => f.action === action);
const ramPages = (s: Scenario) => parseSize(s.guest?.ram ?? "256MiB") / PAGE_SIZE;
const policyOf = (s: Scenario) => s.migration?.parameters?.onNoConvergence ?? "force";
/** No fault: none in `faults`, and no file size limit (the disk-full fault). */
const faultFree = (s: Scenario) =>
  (s.faults ?? []).length === 0 &&
  (s.migration?.transport?.kind !== "file" || s.migration.transport.sizeLimit === undefined);

function kindsAddUp(what: "bytes" | "pages"): Invariant {
  return {
    name: `${what} by kind add up`,
    judge: withResult((_, r) => {
      const c = r[what];
      if (!c) return r.outcome === "completed" ? notJudged(`${what} not reported`) : NOT_CONCERNED;
      let sum = 0;
      for (const [k, n] of Object.entries(c)) {
        // Pages skipped by hints are not sent, so not in the total.
        if (k === "total" || (what === "pages" && (k === "overhead" || k === "skipped"))) continue;
        sum += n;
      }
      return holds(sum === c.total, `kinds sum to ${sum}, total ${c.total}`);
    }),
  };
}

/** The free-page-hint property of issue 21 for one balloon behaviour. */
function hintProperty(behaviour: BalloonBehaviour): Invariant {
  return {
    name: `free-page hints, ${behaviour} balloon: completes, in-use pages equal`,
    judge: withResult((s, r) => {
      const params = s.migration?.parameters ?? {};
      if (
        s.migration?.capabilities?.freePageHints !== true ||
        (params.hintSource ?? "balloon") !== "balloon" ||
        (s.guest?.balloon?.behaviour ?? "honest") !== behaviour ||
        !faultFree(s) || policyOf(s) !== "force"
      ) return NOT_CONCERNED;
      if (r.outcome !== "completed") return broken(`${r.outcome}: ${r.error ?? ""}`);
      const liar = r.liarMismatchedPages ?? 0;
      if (liar > 0 && behaviour !== "liar") {
        return broken(`${liar} page(s) set apart as lied about, but the balloon is ${behaviour}`);
      }
      if (liar > (r.liedPages ?? 0)) {
        return broken(`${liar} page(s) set apart as lied about, ${r.liedPages ?? 0} lied about`);
      }
      if (r.memoryEqual === null) return notJudged("memoryEqual not reported");
      return holds(r.memoryEqual === true, memoryDetail(r, "in-use page(s) differ"));
    }),
  };
}

/**
 * Every invariant, in the order the swarm reports them.
 *
 * @example
 * ```ts
 * import { INVARIANTS } from "./swarm.ts";
 * console.log(INVARIANTS.map((i) => i.name).includes("at most one guest runs at the end")); // true
 * ```
 */
export const INVARIANTS: readonly Invariant[] = [
  {
    name: "scenario valid",
    judge: (run) => holds(run.errors.length === 0, run.errors.join("; ")),
  },
  {
    name: "harness never throws",
    judge: (run) =>
      run.errors.length ? NOT_CONCERNED : holds(run.thrown === null, run.thrown ?? ""),
  },
  {
    name: "memory equal at completion",
    judge: withResult((_, r) => {
      if (r.outcome !== "completed") return NOT_CONCERNED;
      if (r.memoryEqual === null) return notJudged("memoryEqual not reported");
      return holds(r.memoryEqual === true, memoryDetail(r));
    }),
  },
  {
    name: "figures reported at completion",
    judge: withResult((_, r) =>
      r.outcome !== "completed" ? NOT_CONCERNED : holds(
        r.bytes !== null && r.pages !== null,
        "a completed migration reported no bytes or pages by kind",
      )
    ),
  },
  {
    name: "no page left unsent",
    judge: withResult((s, r) => {
      if (r.outcome !== "completed") return NOT_CONCERNED;
      if (!r.pages) return notJudged("pages not reported");
      // Every page went at least once, or a valid free-page hint skipped it.
      const skipped = r.pages.skipped ?? 0;
      const pages = ramPages(s);
      return holds(
        r.pages.total + skipped >= pages,
        `${r.pages.total} page records and ${skipped} skipped for ${pages} pages`,
      );
    }),
  },
  {
    name: "bytes sent arrive",
    judge: withResult((_, r) => {
      if (r.outcome !== "completed") return NOT_CONCERNED;
      if (!r.bytes || !r.destination) return notJudged("bytes sent or received not reported");
      return holds(
        r.destination.receivedBytes === r.bytes.total,
        `source sent ${r.bytes.total} B, destination received ${r.destination.receivedBytes} B`,
      );
    }),
  },
  {
    name: "source intact after a failure",
    judge: withResult((_, r) => {
      if (r.outcome === "completed" || fired(r, "kill-source")) return NOT_CONCERNED;
      if (r.memoryEqual === null) return notJudged("memoryEqual not reported");
      return holds(
        r.memoryEqual === true,
        memoryDetail(r, "page(s) of the source differ from a replay of its workload"),
      );
    }),
  },
  {
    name: "source runs after a failure",
    judge: withResult((_, r) => {
      if (r.outcome === "completed" || fired(r, "kill-source")) return NOT_CONCERNED;
      if (r.sourceGuestRunning === undefined) return notJudged("sourceGuestRunning not reported");
      return holds(r.sourceGuestRunning, `the source guest is not running (${r.outcome})`);
    }),
  },
  kindsAddUp("bytes"),
  kindsAddUp("pages"),
  {
    name: "at most one guest runs at the end",
    judge: withResult((_, r) => {
      const src = r.sourceGuestRunning, dst = r.destinationGuestRunning;
      if (src === undefined || dst === undefined) {
        return notJudged(
          [
            src === undefined ? "sourceGuestRunning" : "",
            dst === undefined ? "destinationGuestRunning" : "",
          ]
            .filter(Boolean).join(" and ") + " not reported",
        );
      }
      return holds(!(src && dst), "both the source and the destination guest run at the end");
    }),
  },
  {
    name: "completes without faults",
    judge: withResult((s, r) =>
      !faultFree(s) || policyOf(s) !== "force"
        ? NOT_CONCERNED
        : holds(r.outcome === "completed", `${r.outcome}: ${r.error ?? ""}`)
    ),
  },
  ...BALLOON_BEHAVIOURS.map(hintProperty),
  {
    // hashDedup (issue 12): every HASH record was resolved from the checkpoint or a received page, or asked for again.
    name: "every hash resolved or asked for",
    judge: withResult((s, r) => {
      if (!s.migration?.capabilities?.hashDedup || r.outcome !== "completed") return NOT_CONCERNED;
      const h = r.hash, sent = r.pages?.hash;
      if (!h || sent === undefined || h.checkpointHits === null || h.receivedHits === null) {
        return notJudged("hash statistics not reported");
      }
      if (h.fallback !== null) return broken(`fell back to plain precopy: ${h.fallback}`);
      const seen = h.checkpointHits + h.receivedHits + (h.unresolved ?? 0);
      return holds(
        seen === sent,
        `${sent} HASH records sent, ${h.checkpointHits} + ${h.receivedHits} resolved and ${h.unresolved} unresolved`,
      );
    }),
  },
  {
    name: "nothing left behind",
    judge: withResult((s, r) => {
      if (r.mode !== "real") return NOT_CONCERNED;
      const c = r.cleanup;
      if (!c) return notJudged(`${s.name}: cleanup not reported`);
      const left = [
        ...c.processesLeft.map((p) => `process ${p}`),
        ...c.tempFilesLeft.map((f) => `file ${f}`),
        ...c.namespacesLeft.map((n) => `namespace ${n}`),
      ];
      return holds(left.length === 0, `left behind: ${left.join(", ")}`);
    }),
  },
];

/**
 * Every invariant's verdict on one run, in {@link INVARIANTS} order. Never
 * throws: an invariant that throws gives `unknown` with what it threw.
 *
 * @example
 * ```ts
 * import { drawScenario, judgeRun } from "./swarm.ts";
 * const scenario = drawScenario(1, 0);
 * const v = judgeRun({ scenario, result: null, errors: [], thrown: "Error: boom" });
 * console.log(v.find((j) => j.invariant === "harness never throws")?.verdict); // "broken"
 * ```
 */
export function judgeRun(
  run: SwarmRun,
  invariants: readonly Invariant[] = INVARIANTS,
): Judgement[] {
  return invariants.map((inv) => {
    try {
      const f = inv.judge(run);
      return { invariant: inv.name, verdict: f.verdict, detail: "detail" in f ? f.detail : "" };
    } catch (e) {
      return {
        invariant: inv.name,
        verdict: "unknown",
        detail: `the invariant threw: ${(e as Error)?.message ?? String(e)}`,
      };
    }
  });
}

/**
 * One broken (or unknown) invariant.
 *
 * @example
 * ```ts
 * import type { Violation } from "./swarm.ts";
 * const v: Violation = { invariant: "bytes sent arrive", detail: "source sent 10 B, destination received 9 B" };
 * ```
 */
export interface Violation {
  /** The invariant's name ("bytes sent arrive", ...). */
  invariant: string;
  /** What breaks it; for one that could not be judged, "unknown: " and why. */
  detail: string;
}

/**
 * The invariants a run breaks, and those that could not tell (`unknown`,
 * their detail says so), for a scenario that ran and returned `result`.
 * Never throws.
 *
 * @example
 * ```ts
 * import { checkInvariants, drawScenario } from "./swarm.ts";
 * import type { Result } from "../contract/types.ts";
 * const s = drawScenario(1, 0);
 * const r = { outcome: "failed", memoryEqual: true, faults: [], sourceGuestRunning: false } as unknown as Result;
 * console.log(checkInvariants(s, r).map((v) => v.invariant)); // includes "source runs after a failure"
 * ```
 */
export function checkInvariants(scenario: Scenario, result: Result): Violation[] {
  return judgeRun({ scenario, result, errors: [], thrown: null })
    .filter((j) => j.verdict === "broken" || j.verdict === "unknown")
    .map((j) => ({
      invariant: j.invariant,
      detail: j.verdict === "unknown" ? `unknown: ${j.detail}` : j.detail,
    }));
}

/**
 * Counts of one invariant's verdicts over a swarm (`judged` includes `broken`).
 *
 * @example
 * ```ts
 * import type { InvariantTally } from "./swarm.ts";
 * const t: InvariantTally = { judged: 612, broken: 0, notJudged: 0, unknown: 0, notConcerned: 388 };
 * ```
 */
export interface InvariantTally {
  judged: number;
  broken: number;
  notJudged: number;
  unknown: number;
  notConcerned: number;
}

/**
 * Adds one run's judgements to per-invariant tallies (created as needed).
 *
 * @example
 * ```ts
 * import { drawScenario, judgeRun, tally, type InvariantTally } from "./swarm.ts";
 * const counts = new Map<string, InvariantTally>();
 * tally(counts, judgeRun({ scenario: drawScenario(1, 0), result: null, errors: [], thrown: "x" }));
 * console.log(counts.get("harness never throws")); // { judged: 1, broken: 1, ... }
 * ```
 */
export function tally(counts: Map<string, InvariantTally>, judgements: Judgement[]): void {
  for (const j of judgements) {
    let t = counts.get(j.invariant);
    if (!t) {
      t = { judged: 0, broken: 0, notJudged: 0, unknown: 0, notConcerned: 0 };
      counts.set(j.invariant, t);
    }
    if (j.verdict === "held") t.judged++;
    else if (j.verdict === "broken") t.judged++, t.broken++;
    else if (j.verdict === "not-judged") t.notJudged++;
    else if (j.verdict === "unknown") t.unknown++;
    else t.notConcerned++;
  }
}

/**
 * One line per invariant: how many runs it judged, broke, could not judge,
 * and how many times it threw.
 *
 * @example
 * ```ts
 * import { formatTally } from "./swarm.ts";
 * const t = new Map([["memory equal at completion", { judged: 612, broken: 0, notJudged: 0, unknown: 0, notConcerned: 388 }]]);
 * console.log(formatTally(t)[0]);
 * // memory equal at completion: judged 612, broken 0, could not judge 0, unknown 0 (388 runs not concerned)
 * ```
 */
export function formatTally(counts: Map<string, InvariantTally>): string[] {
  return [...counts].map(([name, t]) =>
    `${name}: judged ${t.judged}, broken ${t.broken}, could not judge ${t.notJudged}, ` +
    `unknown ${t.unknown} (${t.notConcerned} runs not concerned)`
  );
}
