/**
 * Scenario validation: turns a scenario (typed object or parsed JSON) into
 * the resolved numbers the runner uses, and reports every error at once, each
 * naming its field (`guest.ram: ...`).
 *
 * @example
 * ```ts
 * import { resolveScenario } from "./validate.ts";
 * const { resolved, errors } = resolveScenario({ name: "x", guest: { ram: "64MiB" } });
 * console.log(errors, resolved?.ramBytes); // [] 67108864
 * ```
 * @module
 */
import { type MigrationConfig, resolveMigration } from "../engine/capabilities.ts";
import type { FillKind } from "../guest/fill.ts";
import { PAGE_SIZE, RAM_BYTES_MAX } from "../guest/ram.ts";
import type { WorkloadConfig } from "../guest/workload.ts";
import { parseBandwidth, parseRate, parseSize } from "../util/size.ts";
import type { BalloonBehaviour, Expectations, FaultSpec, Scenario } from "./types.ts";

/** A scenario with every field resolved to numbers and defaults. */
export interface ResolvedScenario {
  name: string;
  description: string;
  seed: number;
  mode: "real" | "sim";
  ramBytes: number;
  fill: FillKind;
  freeRatio: number;
  balloon: BalloonBehaviour;
  workload: WorkloadConfig;
  migration: MigrationConfig;
  network: { bandwidthBytesPerSec: number; latencyMs: number; jitterMs: number };
  faults: FaultSpec[];
  expect: Expectations;
  warmupMs: number;
  settleMs: number;
  /** The scenario as given, for the record. */
  source: Scenario;
}

/** Default dirty rates by workload kind (bytes per second of page touches). */
const DEFAULT_DIRTY_RATE: Record<string, number> = {
  idle: 0,
  sequential: 32 * 1024 ** 2,
  random: 32 * 1024 ** 2,
  hotset: 64 * 1024 ** 2,
  "xbrle-seed": 64 * 1024 ** 2,
  counter: 32 * 1024 ** 2,
};
const WRITE_BYTES: Record<string, number> = { "xbrle-seed": 1, counter: 1 };

const BALLOON = ["honest", "silent", "slow", "stale", "flood", "garbage", "liar"];
const FILLS = ["zero", "random", "compressible"];
const TOP_KEYS = new Set([
  "name",
  "description",
  "seed",
  "mode",
  "guest",
  "migration",
  "network",
  "faults",
  "expect",
  "warmupMs",
  "settleMs",
]);

/** Resolves a scenario; `resolved` is undefined when `errors` is not empty. */
export function resolveScenario(
  input: unknown,
  overrides: { seed?: number; mode?: "real" | "sim" } = {},
): { resolved?: ResolvedScenario; errors: string[] } {
  const errors: string[] = [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { errors: ["scenario: must be an object"] };
  }
  const s = input as Scenario;
  for (const k of Object.keys(s)) if (!TOP_KEYS.has(k)) errors.push(`${k}: unknown field`);
  const attempt = <T>(where: string, f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (e) {
      errors.push(`${where}: ${(e as Error).message}`);
      return fallback;
    }
  };
  if (typeof s.name !== "string" || !/^[A-Za-z0-9._-]+$/.test(s.name)) {
    errors.push(
      `name: must be a non-empty string of letters, digits, ".", "_" or "-", got ${
        JSON.stringify(s.name)
      }`,
    );
  }
  const seed = overrides.seed ?? s.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    errors.push(`seed: must be a whole number >= 0, got ${JSON.stringify(seed)}`);
  }
  const mode = overrides.mode ?? s.mode ?? "real";
  if (mode !== "real" && mode !== "sim") {
    errors.push(`mode: must be "real" or "sim", got ${JSON.stringify(mode)}`);
  }
  if (mode === "sim") errors.push(`mode: "sim" is not available yet; use "real"`);

  const g = s.guest ?? {};
  const ramBytes = attempt("guest.ram", () => {
    const v = parseSize(g.ram ?? "256MiB");
    if (v < PAGE_SIZE || v % PAGE_SIZE !== 0) {
      throw new RangeError(`must be a positive multiple of 4 KiB, got ${JSON.stringify(g.ram)}`);
    }
    if (v > RAM_BYTES_MAX) throw new RangeError(`must be at most ${RAM_BYTES_MAX / 1024 ** 3} GiB`);
    return v;
  }, PAGE_SIZE);
  const fill = (g.fill ?? "random") as FillKind;
  if (!FILLS.includes(fill)) {
    errors.push(`guest.fill: must be one of ${FILLS.join(", ")}, got ${JSON.stringify(g.fill)}`);
  }
  const freeRatio = g.freeRatio ?? 0;
  if (typeof freeRatio !== "number" || !(freeRatio >= 0 && freeRatio < 1)) {
    errors.push(`guest.freeRatio: must be a number in [0, 1), got ${JSON.stringify(g.freeRatio)}`);
  } else if (freeRatio > 0) {
    errors.push("guest.freeRatio: free-page hints are not available yet; leave it 0");
  }
  const balloon = (g.balloon?.behaviour ?? "honest") as BalloonBehaviour;
  if (!BALLOON.includes(balloon)) {
    errors.push(`guest.balloon.behaviour: must be one of ${BALLOON.join(", ")}`);
  }

  const wl = g.workload ?? { kind: "idle" };
  const kind = wl.kind;
  if (!(kind in DEFAULT_DIRTY_RATE)) {
    errors.push(
      `guest.workload.kind: must be one of ${Object.keys(DEFAULT_DIRTY_RATE).join(", ")}, got ${
        JSON.stringify(kind)
      }`,
    );
  }
  const dirtyRate = attempt(
    "guest.workload.dirtyRate",
    () => wl.dirtyRate === undefined ? DEFAULT_DIRTY_RATE[kind] ?? 0 : parseRate(wl.dirtyRate),
    0,
  );
  const writeBytes = wl.writeBytes ?? WRITE_BYTES[kind] ?? PAGE_SIZE;
  if (!Number.isInteger(writeBytes) || writeBytes < 1 || writeBytes > PAGE_SIZE) {
    errors.push(
      `guest.workload.writeBytes: must be a whole number in 1..${PAGE_SIZE}, got ${
        JSON.stringify(wl.writeBytes)
      }`,
    );
  }
  for (const k of ["hotsetRatio", "hotsetProbability"] as const) {
    const v = wl[k];
    if (v !== undefined && (typeof v !== "number" || !(v > 0 && v <= 1))) {
      errors.push(`guest.workload.${k}: must be a number in (0, 1], got ${JSON.stringify(v)}`);
    }
  }
  const workload: WorkloadConfig = {
    kind,
    touchesPerSec: dirtyRate / PAGE_SIZE,
    writeBytes,
    hotsetRatio: wl.hotsetRatio,
    hotsetProbability: wl.hotsetProbability,
  };

  const { config: migration, errors: merr } = resolveMigration(s.migration as never);
  errors.push(...merr);

  const n = s.network ?? {};
  const bandwidthBytesPerSec = attempt(
    "network.bandwidth",
    () => n.bandwidth === undefined ? 0 : parseBandwidth(n.bandwidth),
    0,
  );
  const latencyMs = n.latencyMs ?? 0;
  const jitterMs = n.jitterMs ?? 0;
  for (const [k, v] of [["latencyMs", latencyMs], ["jitterMs", jitterMs]] as const) {
    if (typeof v !== "number" || !(v >= 0)) {
      errors.push(`network.${k}: must be a number >= 0, got ${JSON.stringify(v)}`);
    }
  }
  if (bandwidthBytesPerSec > 0 || latencyMs > 0 || jitterMs > 0) {
    errors.push(
      "network: shaping is not available yet; leave bandwidth, latencyMs and jitterMs unset",
    );
  }

  const faults = s.faults ?? [];
  if (!Array.isArray(faults)) errors.push("faults: must be a list");
  else if (faults.length > 0) {
    errors.push("faults: fault injection is not available yet; leave the list empty");
  }

  const expect = s.expect ?? {};
  if (typeof expect !== "object" || expect === null) errors.push("expect: must be an object");
  else {
    if (
      expect.outcome !== undefined && !["completed", "failed", "cancelled"].includes(expect.outcome)
    ) {
      errors.push(
        `expect.outcome: must be "completed", "failed" or "cancelled", got ${
          JSON.stringify(expect.outcome)
        }`,
      );
    }
    for (const k of ["downtimeMsMax", "totalTimeMsMax", "bytesMax"]) {
      const v = expect[k];
      if (v !== undefined && (typeof v !== "number" || !(v >= 0))) {
        errors.push(`expect.${k}: must be a number >= 0`);
      }
    }
    if (expect.memoryEqual !== undefined && typeof expect.memoryEqual !== "boolean") {
      errors.push("expect.memoryEqual: must be true or false");
    }
  }
  const warmupMs = s.warmupMs ?? 200;
  const settleMs = s.settleMs ?? 100;
  if (typeof warmupMs !== "number" || !(warmupMs >= 0)) {
    errors.push("warmupMs: must be a number >= 0");
  }
  if (typeof settleMs !== "number" || !(settleMs >= 0)) {
    errors.push("settleMs: must be a number >= 0");
  }

  if (errors.length) return { errors };
  return {
    errors,
    resolved: {
      name: s.name,
      description: s.description ?? "",
      seed,
      mode,
      ramBytes,
      fill,
      freeRatio,
      balloon,
      workload,
      migration,
      network: { bandwidthBytesPerSec, latencyMs, jitterMs },
      faults,
      expect,
      warmupMs,
      settleMs,
      source: s,
    },
  };
}
