/**
 * The seed swarm: random but valid scenarios drawn from one seed, run in
 * simulation, each checked against invariants that must hold whatever the
 * scenario:
 *
 * - a completed migration leaves the destination's memory equal to the
 *   source's at stop; a failed or cancelled one leaves the source guest
 *   running and intact (unless the scenario killed the source);
 * - bytes and pages by kind add up to their totals, and a completed
 *   migration's destination received exactly the bytes the source sent;
 * - no page is left unsent at completion: every page went at least once;
 * - at most one guest runs at the end;
 * - without faults and with `onNoConvergence: force`, the migration completes.
 *
 * A run that throws is a failure too (the verdict "unknown" in Jepsen's
 * words): the harness must never crash on a valid scenario.
 *
 * @example
 * ```ts
 * import { drawScenario, swarmSeed } from "./swarm.ts";
 * const s = drawScenario(swarmSeed("42"), 0);
 * console.log(s.mode); // "sim"
 * ```
 * @module
 */
import { CAPABILITIES, resolveMigration } from "../engine/capabilities.ts";
import { PAGE_SIZE } from "../guest/ram.ts";
import { Prng } from "../util/prng.ts";
import { parseSize } from "../util/size.ts";
import { FAULT_ACTIONS } from "../scenario/validate.ts";
import type {
  FaultPhase,
  FaultSpec,
  NetworkSpec,
  Result,
  Scenario,
  WorkloadKind,
} from "../contract/types.ts";

/**
 * Turns a swarm seed into a number: a whole number as it is, a git commit
 * hash (7 to 40 hex digits) by its first 13 hex digits. Throws TypeError
 * otherwise.
 */
export function swarmSeed(text: string): number {
  if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  if (/^[0-9a-f]{7,40}$/i.test(text)) return parseInt(text.slice(0, 13), 16);
  throw new TypeError(
    `Swarm seed must be a whole number or a git commit hash, got ${JSON.stringify(text)}`,
  );
}

const KINDS: WorkloadKind[] = ["idle", "sequential", "random", "hotset", "xbrle-seed", "counter"];
const PHASES: FaultPhase[] = ["setup", "bulk", "round", "stop-and-copy", "device-state", "resume"];
const MIB = 1024 * 1024;

/** The `index`th scenario of the swarm with seed `seed`; the same pair always gives the same scenario. */
export function drawScenario(seed: number, index: number): Scenario {
  const r = new Prng(seed * 1_000_003 + index * 7_919 + 1);
  const pick = <T>(xs: readonly T[]): T => xs[r.nextInt(xs.length)];
  const chance = (p: number) => r.nextFloat() < p;
  const ramMiB = pick([4, 8, 16, 32]);
  const kind = pick(KINDS);
  const dirtyMiBs = kind === "idle" ? 0 : pick([1, 4, 16, 32, 64, 128]);
  const workload: Scenario["guest"] = {
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
  for (const c of CAPABILITIES) if (chance(0.4)) capabilities[c.name] = true;
  // Drop capabilities until the combination is valid.
  for (const name of Object.keys(capabilities)) {
    if (resolveMigration({ capabilities }).errors.length === 0) break;
    delete capabilities[name];
  }
  // Free memory and a balloon, honest or hostile, when free-page hints exist and are on.
  if (capabilities.freePageHints && kind !== "counter" && chance(0.8)) {
    workload.freeRatio = pick([0.25, 0.5, 0.75]);
    workload.balloon = {
      behaviour: pick(["honest", "silent", "slow", "stale", "flood", "garbage", "liar"] as const),
    };
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
    const action = pick(FAULT_ACTIONS);
    const t = r.nextInt(3);
    const at: FaultSpec["at"] = t === 0
      ? (() => {
        const phase = pick(PHASES);
        return phase === "round" ? { phase, round: 1 + r.nextInt(3) } : { phase };
      })()
      : t === 1
      ? { afterBytes: r.nextInt(ramMiB * MIB) }
      : { afterMs: r.nextInt(2_000) };
    const f: FaultSpec = { at, action };
    if (action === "partition" || action === "stop-source" || action === "stop-destination") {
      f.durationMs = pick([50, 300, 800, 5_000]);
    }
    if (action === "corrupt") f.bytes = pick([1, 4, 64]);
    faults.push(f);
  }
  const seedOfRun = r.nextU32();
  return {
    name: `swarm-${seed}-${index}`,
    description: `drawn by the seed swarm (seed ${seed}, scenario ${index})`,
    seed: seedOfRun,
    mode: "sim",
    guest: workload,
    migration: { capabilities, parameters },
    network,
    faults,
    ...(faults.length && chance(0.3) ? { retry: true } : {}),
    warmupMs: pick([0, 50, 200]),
    settleMs: 50,
  };
}

/** One broken invariant. */
export interface Violation {
  invariant: string;
  detail: string;
}

/** Checks a result against the swarm's invariants. Never throws. */
export function checkInvariants(scenario: Scenario, result: Result): Violation[] {
  const v: Violation[] = [];
  const add = (invariant: string, detail: string) => v.push({ invariant, detail });
  try {
    const killedSource = result.faults.some((f) => f.action === "kill-source");
    const killedDestination = result.faults.some((f) => f.action === "kill-destination");
    if (result.outcome === "completed") {
      if (result.memoryEqual !== true) {
        add(
          "memory equal at completion",
          `${result.mismatchedPages} page(s) differ: ${result.mismatchedAddresses.join(", ")}`,
        );
      }
      // Every page went at least once, or a valid free-page hint skipped it.
      const pages = ramPages(scenario);
      const skipped = result.pages?.skipped ?? 0;
      if (!result.pages || !result.bytes) {
        add("figures reported", "a completed migration reported no bytes or pages by kind");
      } else if (result.pages.total + skipped < pages) {
        add(
          "no page left unsent",
          `${result.pages.total} page records and ${skipped} skipped for ${pages} pages`,
        );
      }
      if (
        result.bytes && result.destination &&
        result.destination.receivedBytes !== result.bytes.total
      ) {
        add(
          "bytes sent arrive",
          `source sent ${result.bytes.total} B, destination received ${result.destination.receivedBytes} B`,
        );
      }
    } else if (!killedSource) {
      if (result.memoryEqual !== true) {
        add(
          "source intact after a failure",
          `${result.mismatchedPages} page(s) of the source differ from a replay of its workload`,
        );
      }
      if (!result.sourceGuestRunning) {
        add("source runs after a failure", `the source guest is not running (${result.outcome})`);
      }
    }
    for (const what of ["bytes", "pages"] as const) {
      const c = result[what];
      if (!c) continue;
      const sum = Object.entries(c).reduce(
        // Pages skipped by hints are not sent, so not in the total.
        (s, [k, n]) =>
          k === "total" || (what === "pages" && (k === "overhead" || k === "skipped")) ? s : s + n,
        0,
      );
      if (sum !== c.total) add(`${what} by kind add up`, `kinds sum to ${sum}, total ${c.total}`);
    }
    const dstRunning = result.destination?.outcome === "completed" && !killedDestination;
    if (dstRunning && result.sourceGuestRunning) {
      add("at most one guest runs", "both the source and the destination guest run at the end");
    }
    const policy = scenario.migration?.parameters?.onNoConvergence ?? "force";
    if (
      (scenario.faults ?? []).length === 0 && policy === "force" && result.outcome !== "completed"
    ) {
      add("completes without faults", `${result.outcome}: ${result.error ?? ""}`);
    }
  } catch (e) {
    add("checker", `the checker failed: ${(e as Error).message}`);
  }
  return v;
}

function ramPages(s: Scenario): number {
  return parseSize(s.guest?.ram ?? "256MiB") / PAGE_SIZE;
}
