/**
 * Scenario validation: turns a scenario (typed object or parsed JSON) into
 * the resolved numbers the runner uses, and reports every error at once, each
 * naming its field (`guest.ram: ...`). The contract is strict: a key that is
 * not a field, at any depth, is an error naming its full path and the nearest
 * field (`expect.downtimeMax: unknown field (did you mean downtimeMsMax?)`).
 * The contract is documented in docs/scenario.md.
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
import { FreeView, type PageRange } from "../guest/free_view.ts";
import { parseBandwidth, parseRate, parseSize } from "../util/size.ts";
import { nearest } from "../util/nearest.ts";
import { type HostPlacement, parseHost } from "../util/host_spec.ts";
import { fileTransportErrors, type ResolvedTransport, resolveTransport } from "./transport.ts";
import type {
  BalloonBehaviour,
  CheckpointSpec,
  DestinationSpec,
  Expectations,
  FaultSpec,
  FaultTrigger,
  GuestSpec,
  HostsSpec,
  MigrationSpec,
  NetworkSpec,
  Scenario,
  SimSpec,
  WorkloadSpec,
} from "../contract/types.ts";

/** A scenario with every field resolved to numbers and defaults. */
export interface ResolvedScenario {
  /** The scenario's name (letters, digits, ".", "_" and "-"). */
  name: string;
  /** One line on what the scenario shows; "" when the scenario gives none. */
  description: string;
  /** The seed every random choice derives from: the override, else the scenario's, else 1. */
  seed: number;
  /** The mode to run in: the override, else the scenario's, else "real". */
  mode: "real" | "sim";
  /** Guest RAM in bytes, a positive multiple of 4 KiB (default 256 MiB). */
  ramBytes: number;
  /** What guest RAM holds at boot (default "random"). */
  fill: FillKind;
  /** Share of RAM the guest considers free at boot, in [0, 1) (default 0). */
  freeRatio: number;
  /** How the guest's balloon answers free-page hint requests (default "honest"). */
  balloon: BalloonBehaviour;
  /** The static free map as page ranges `[start, pages]`, sorted (also in `workload.staticFree`). */
  staticFree: PageRange[];
  /** The workload with its dirty rate turned into page touches per second, and its free memory. */
  workload: WorkloadConfig;
  /** Capabilities and parameters, resolved over the defaults. */
  migration: MigrationConfig;
  /** Where the stream goes: the destination peer, or a file saved then restored. */
  transport: ResolvedTransport;
  /** The link between the peers. */
  network: ResolvedNetwork;
  /** The faults to inject, as given (checked, not rewritten); empty when there are none. */
  faults: FaultSpec[];
  /** After a failure, start a fresh destination and migrate again (once). */
  retry: boolean;
  /** The simulation's cost model (ignored in real mode). */
  sim: { cpuCostUs: Partial<Record<CostKind, number>> };
  /** What the run must show, as given; an empty object expects nothing. */
  expect: Expectations;
  /** Milliseconds the workload runs before migration starts (default 200). */
  warmupMs: number;
  /** Milliseconds the destination guest keeps running after resume (default 100). */
  settleMs: number;
  /** The checkpoint the destination holds (`destination.checkpoint`), or null. */
  checkpoint: CheckpointSpec | null;
  /** Where each peer runs (both local by default). */
  hosts: { source: HostPlacement; destination: HostPlacement };
  /** The scenario as given, for the record. */
  source: Scenario;
}

/** The link between the peers, resolved. 0 bandwidth = unshaped. */
export interface ResolvedNetwork {
  /** Bandwidth in bytes per second at migration start; 0 means unshaped. */
  bandwidthBytesPerSec: number;
  /** Token-bucket depth; default 64 KiB or 10 ms of bandwidth, whichever is larger. */
  burstBytes: number;
  /** One-way latency added to every packet, in milliseconds (default 0). */
  latencyMs: number;
  /** Extra latency drawn uniformly in [0, jitterMs) milliseconds per packet (default 0). */
  jitterMs: number;
  /** Bandwidth changes in time, sorted by `atMs` (ms since migration start). */
  schedule: { atMs: number; bandwidthBytesPerSec: number }[];
  /** Shape with `tc tbf` between network namespaces instead of the userspace link (real mode, root). */
  kernel: boolean;
}

/** Fault actions that exist, and the ones kept for file migration's storage faults. */
export const FAULT_ACTIONS = [
  "cut-link",
  "partition",
  "corrupt",
  "kill-source",
  "kill-destination",
  "stop-source",
  "stop-destination",
  "cancel",
] as const;
const STORAGE_FAULTS = ["storage-stall", "storage-enospc"];
const FAULT_PHASES = ["setup", "bulk", "round", "stop-and-copy", "device-state", "resume"];

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
/** The page record kinds `sim.cpuCostUs` can charge virtual CPU time for, in microseconds per page. */
export const COST_KINDS = ["normal", "zero", "xbzrle", "deflate"] as const;
/** A page record kind the simulation can charge CPU time for (`sim.cpuCostUs`). */
export type CostKind = typeof COST_KINDS[number];

/** Every key of every member of a union. */
type KeysOfUnion<T> = T extends unknown ? keyof T : never;
/** The keys of a contract type, listed once; the type checker refuses a missing or extra one. */
const keys = <T>(all: Record<KeysOfUnion<T>, true>): readonly string[] => Object.keys(all);

/**
 * The fields of every object in a scenario, by path (`[]`: each element of a
 * list). Anything else is an unknown field. Each list is checked against its
 * contract type, so a field added to the type must be added here.
 *
 * @example
 * ```ts
 * import { SCENARIO_FIELDS } from "./validate.ts";
 * console.log(SCENARIO_FIELDS["faults[].at"]); // ["phase", "round", "afterBytes", "afterMs"]
 * ```
 */
export const SCENARIO_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "": keys<Scenario>({
    name: true,
    description: true,
    seed: true,
    mode: true,
    guest: true,
    migration: true,
    network: true,
    faults: true,
    retry: true,
    sim: true,
    expect: true,
    warmupMs: true,
    settleMs: true,
    destination: true,
    hosts: true,
  }),
  destination: keys<DestinationSpec>({ checkpoint: true }),
  "destination.checkpoint": keys<CheckpointSpec>({
    source: true,
    atMs: true,
    path: true,
    format: true,
  }),
  hosts: keys<HostsSpec>({ source: true, destination: true }),
  guest: keys<GuestSpec>({
    ram: true,
    fill: true,
    freeRatio: true,
    balloon: true,
    staticFreeMap: true,
    workload: true,
  }),
  "guest.workload": keys<WorkloadSpec>({
    kind: true,
    dirtyRate: true,
    writeBytes: true,
    hotsetRatio: true,
    hotsetProbability: true,
  }),
  "guest.balloon": keys<NonNullable<GuestSpec["balloon"]>>({ behaviour: true }),
  "guest.staticFreeMap[]": keys<NonNullable<GuestSpec["staticFreeMap"]>[number]>({
    start: true,
    length: true,
  }),
  migration: keys<MigrationSpec>({ capabilities: true, parameters: true, transport: true }),
  "migration.transport": keys<NonNullable<MigrationSpec["transport"]>>({
    kind: true,
    path: true,
    sizeLimit: true,
    bandwidth: true,
  }),
  network: keys<NetworkSpec>({
    bandwidth: true,
    burst: true,
    latencyMs: true,
    jitterMs: true,
    schedule: true,
    kernel: true,
  }),
  "network.schedule[]": keys<NonNullable<NetworkSpec["schedule"]>[number]>({
    atMs: true,
    bandwidth: true,
  }),
  "faults[]": keys<FaultSpec>({ at: true, action: true, durationMs: true, bytes: true }),
  "faults[].at": keys<FaultTrigger>({ phase: true, round: true, afterBytes: true, afterMs: true }),
  sim: keys<SimSpec>({ cpuCostUs: true }),
  "sim.cpuCostUs": keys<NonNullable<SimSpec["cpuCostUs"]>>({
    normal: true,
    zero: true,
    xbzrle: true,
    deflate: true,
  }),
  expect: keys<Expectations>({
    outcome: true,
    memoryEqual: true,
    guestLost: true,
    downtimeMsMax: true,
    totalTimeMsMax: true,
    bytesMax: true,
  }),
};

/** `a.b`, or `a["odd key"]` for a key that is not a plain name. */
function fieldPath(where: string, key: string): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${where}[${JSON.stringify(key)}]`;
  return where ? `${where}.${key}` : key;
}

/**
 * Lists every key of `value` that is not a field of `shape` (a key of
 * {@link SCENARIO_FIELDS}) as an error at `where`, with the nearest field.
 */
function unknownFields(
  value: Record<string, unknown>,
  where: string,
  shape: string,
  errors: string[],
): void {
  const known = SCENARIO_FIELDS[shape];
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) {
      errors.push(`${fieldPath(where, k)}: unknown field${nearest(k, known)}`);
    }
  }
}

/**
 * `value` as an object whose unknown fields have been listed, `{}` when it is
 * absent, and `{}` with an error when it is not an object.
 */
function objectAt(
  value: unknown,
  where: string,
  shape: string,
  errors: string[],
): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    errors.push(`${where}: must be an object, got ${JSON.stringify(value)}`);
    return {};
  }
  const o = value as Record<string, unknown>;
  unknownFields(o, where, shape, errors);
  return o;
}

/**
 * Resolves a scenario; `resolved` is undefined when `errors` is not empty.
 * `errors` lists every problem at once, each naming its field by its full
 * path; `warnings` lists what is accepted but has no effect (a parameter of a
 * capability that is off).
 *
 * @example
 * ```ts
 * import { resolveScenario } from "./validate.ts";
 * const { errors } = resolveScenario({ name: "x", expect: { downtimeMax: 1 } });
 * console.log(errors); // ["expect.downtimeMax: unknown field (did you mean downtimeMsMax?)"]
 * ```
 */
export function resolveScenario(
  input: unknown,
  overrides: { seed?: number; mode?: "real" | "sim" } = {},
): { resolved?: ResolvedScenario; errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { errors: ["scenario: must be an object"], warnings };
  }
  const s = input as Scenario;
  unknownFields(s as unknown as Record<string, unknown>, "", "", errors);
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
  if (s.description !== undefined && typeof s.description !== "string") {
    errors.push(`description: must be a string, got ${JSON.stringify(s.description)}`);
  }
  const mode = overrides.mode ?? s.mode ?? "real";
  if (mode !== "real" && mode !== "sim") {
    errors.push(`mode: must be "real" or "sim", got ${JSON.stringify(mode)}`);
  }

  const g = objectAt(s.guest, "guest", "guest", errors) as GuestSpec;
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
  }
  const staticFree = resolveStaticFreeMap(g.staticFreeMap, ramBytes, errors);
  const balloonSpec = objectAt(g.balloon, "guest.balloon", "guest.balloon", errors);
  const balloon = (balloonSpec.behaviour ?? "honest") as BalloonBehaviour;
  if (!BALLOON.includes(balloon)) {
    errors.push(
      `guest.balloon.behaviour: must be one of ${BALLOON.join(", ")}, got ${
        JSON.stringify(balloonSpec.behaviour)
      }`,
    );
  }

  const wl = g.workload === undefined
    ? { kind: "idle" as const }
    : objectAt(g.workload, "guest.workload", "guest.workload", errors) as unknown as WorkloadSpec;
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
  const hasFree = (typeof freeRatio === "number" && freeRatio > 0) || staticFree.length > 0;
  if (hasFree) {
    workload.freeRatio = freeRatio;
    if (staticFree.length) workload.staticFree = staticFree;
    if (kind === "counter") {
      errors.push(
        "guest.freeRatio: the counter workload keeps an invariant over every page and takes no free memory; leave freeRatio 0 and staticFreeMap empty",
      );
    }
    if (FreeView.byteLength(ramBytes / PAGE_SIZE) > FREE_VIEW_BYTES_MAX) {
      errors.push(
        `guest.ram: a guest with free memory can have at most ${
          FREE_VIEW_BYTES_MAX * 8 * PAGE_SIZE / 1024 ** 3
        } GiB (its free-page view travels in the device state)`,
      );
    }
  }

  const migrationSpec = objectAt(s.migration, "migration", "migration", errors) as MigrationSpec;
  const { config: migration, errors: merr, warnings: mwarn } = resolveMigration(migrationSpec);
  errors.push(...merr);
  const transport = resolveTransport(
    migrationSpec.transport === undefined ? undefined : objectAt(
      migrationSpec.transport,
      "migration.transport",
      "migration.transport",
      errors,
    ),
    errors,
  );
  warnings.push(...mwarn);
  if (migration.capabilities.freePageHints && migration.hintSource === "static") {
    if (!staticFree.length && !(g.staticFreeMap?.length)) {
      errors.push(
        'migration.parameters.hintSource: "static" reports guest.staticFreeMap, which is empty',
      );
    }
  }

  const network = resolveNetwork((s.network ?? {}) as Record<string, unknown>, errors);
  const faults = resolveFaults(s.faults ?? [], errors);
  if (network.kernel) {
    if (mode !== "real") errors.push("network.kernel: kernel shaping exists in real mode only");
    faults.forEach((f, i) => {
      if (f?.action === "corrupt") {
        errors.push(
          `faults[${i}].action: corrupt needs the userspace link (netem corrupt is not available); ` +
            "leave network.kernel false",
        );
      }
    });
  }
  const hosts = resolveHosts(s.hosts, mode, network, faults, errors);
  const sim = resolveSim(s.sim, errors);
  const retry = s.retry ?? false;
  if (typeof retry !== "boolean") errors.push(`retry: must be true or false`);
  if (transport.kind === "file") errors.push(...fileTransportErrors(faults, retry === true));

  const expect = objectAt(s.expect, "expect", "expect", errors) as Expectations;
  if (
    expect.outcome !== undefined && !["completed", "failed", "cancelled"].includes(expect.outcome)
  ) {
    errors.push(
      `expect.outcome: must be "completed", "failed" or "cancelled", got ${
        JSON.stringify(expect.outcome)
      }`,
    );
  }
  for (const k of ["downtimeMsMax", "totalTimeMsMax", "bytesMax"] as const) {
    const v = expect[k];
    if (v !== undefined && (typeof v !== "number" || !(v >= 0))) {
      errors.push(`expect.${k}: must be a number >= 0`);
    }
  }
  if (
    expect.memoryEqual !== undefined && expect.memoryEqual !== null &&
    typeof expect.memoryEqual !== "boolean"
  ) {
    errors.push("expect.memoryEqual: must be true, false or null (nothing to compare)");
  }
  if (expect.guestLost !== undefined && typeof expect.guestLost !== "boolean") {
    errors.push("expect.guestLost: must be true or false");
  }
  const warmupMs = s.warmupMs ?? 200;
  const settleMs = s.settleMs ?? 100;
  if (typeof warmupMs !== "number" || !(warmupMs >= 0) || !Number.isFinite(warmupMs)) {
    errors.push(`warmupMs: must be a number of milliseconds >= 0, got ${JSON.stringify(warmupMs)}`);
  }
  if (typeof settleMs !== "number" || !(settleMs >= 0) || !Number.isFinite(settleMs)) {
    errors.push(`settleMs: must be a number of milliseconds >= 0, got ${JSON.stringify(settleMs)}`);
  }

  const checkpoint = resolveCheckpoint(s.destination, warmupMs, errors);
  if (migration.capabilities.hashDedup && !checkpoint) {
    warnings.push(
      "migration.capabilities.hashDedup: destination.checkpoint is absent: the destination holds nothing, plain precopy",
    );
  }
  if (checkpoint && !migration.capabilities.hashDedup) {
    warnings.push("destination.checkpoint: unused, capability hashDedup is off");
  }

  if (errors.length) return { errors, warnings };
  return {
    errors,
    warnings,
    resolved: {
      name: s.name,
      description: s.description ?? "",
      seed,
      mode,
      ramBytes,
      fill,
      freeRatio,
      balloon,
      staticFree,
      workload,
      migration,
      transport,
      network,
      faults,
      retry,
      sim,
      expect,
      warmupMs,
      settleMs,
      checkpoint,
      hosts,
      source: s,
    },
  };
}

/**
 * Resolves `hosts`: each placement parsed; peers off this machine's loopback
 * exist in real mode only, over the hosts' own network (no shaping proxy, no
 * kernel shaping of Ferry's namespaces, no `corrupt`, which needs the proxy).
 */
function resolveHosts(
  value: unknown,
  mode: "real" | "sim",
  network: ResolvedNetwork,
  faults: FaultSpec[],
  errors: string[],
): { source: HostPlacement; destination: HostPlacement } {
  const h = objectAt(value, "hosts", "hosts", errors) as HostsSpec;
  const out: { source: HostPlacement; destination: HostPlacement } = {
    source: { kind: "local" },
    destination: { kind: "local" },
  };
  for (const role of ["source", "destination"] as const) {
    const v = h[role];
    if (v === undefined) continue;
    if (typeof v !== "string") {
      errors.push(`hosts.${role}: must be a string`);
      continue;
    }
    try {
      out[role] = parseHost(v);
    } catch (e) {
      errors.push(`hosts.${role}: ${(e as Error).message}`);
    }
  }
  if (out.source.kind === "local" && out.destination.kind === "local") return out;
  if (mode !== "real") errors.push("hosts: peers on other hosts exist in real mode only");
  if (out.source.kind !== "local" && out.destination.kind === "local") {
    errors.push(
      "hosts.destination: a source on another host cannot reach a destination on this machine's loopback; place the destination too",
    );
  }
  if (
    network.bandwidthBytesPerSec > 0 || network.latencyMs > 0 || network.jitterMs > 0 ||
    network.schedule.length > 0 || network.kernel
  ) {
    errors.push(
      "network: between peers on other hosts the link is the hosts' own network (shape it there, " +
        "e.g. tc on their interfaces); leave network empty",
    );
  }
  faults.forEach((f, i) => {
    if (f?.action === "corrupt") {
      errors.push(
        `faults[${i}].action: corrupt needs the runner's shaping proxy, which peers on other hosts do not use`,
      );
    }
  });
  return out;
}

/** Largest free-page view a guest may have (it travels in the 1 MiB device state). */
const FREE_VIEW_BYTES_MAX = 512 * 1024;

/** Resolves `guest.staticFreeMap` into sorted, disjoint page ranges inside RAM. */
function resolveStaticFreeMap(map: unknown, ramBytes: number, errors: string[]): PageRange[] {
  if (map === undefined) return [];
  if (!Array.isArray(map)) {
    errors.push("guest.staticFreeMap: must be a list of { start, length }");
    return [];
  }
  const out: PageRange[] = [];
  map.forEach((e, i) => {
    const where = `guest.staticFreeMap[${i}]`;
    if (typeof e !== "object" || e === null || Array.isArray(e)) {
      return errors.push(`${where}: must be an object`);
    }
    const { start, length } = e as Record<string, unknown>;
    unknownFields(e as Record<string, unknown>, where, "guest.staticFreeMap[]", errors);
    let a = -1, n = -1;
    try {
      a = parseSize(start);
      if (a % PAGE_SIZE) throw new RangeError(`must be a multiple of 4 KiB, got ${a}`);
    } catch (err) {
      errors.push(`${where}.start: ${(err as Error).message}`);
    }
    try {
      n = parseSize(length);
      if (n < PAGE_SIZE || n % PAGE_SIZE) {
        throw new RangeError(`must be a positive multiple of 4 KiB, got ${n}`);
      }
    } catch (err) {
      errors.push(`${where}.length: ${(err as Error).message}`);
    }
    if (a < 0 || n < 0) return;
    if (a + n > ramBytes) {
      return errors.push(`${where}: ends at ${a + n}, beyond guest RAM of ${ramBytes} bytes`);
    }
    out.push([a / PAGE_SIZE, n / PAGE_SIZE]);
  });
  out.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < out.length; i++) {
    if (out[i][0] < out[i - 1][0] + out[i - 1][1]) {
      errors.push(
        `guest.staticFreeMap: ranges at ${out[i - 1][0] * PAGE_SIZE} and ${
          out[i][0] * PAGE_SIZE
        } overlap`,
      );
    }
  }
  return out;
}

function resolveNetwork(n: Record<string, unknown>, errors: string[]): ResolvedNetwork {
  const out: ResolvedNetwork = {
    bandwidthBytesPerSec: 0,
    burstBytes: 0,
    latencyMs: 0,
    jitterMs: 0,
    schedule: [],
    kernel: false,
  };
  if (typeof n !== "object" || n === null || Array.isArray(n)) {
    errors.push("network: must be an object");
    return out;
  }
  unknownFields(n, "network", "network", errors);
  const rate = (where: string, v: unknown) => {
    try {
      return v === undefined || v === 0 || v === "unlimited" ? 0 : parseBandwidth(v);
    } catch (e) {
      errors.push(`${where}: ${(e as Error).message}`);
      return 0;
    }
  };
  out.bandwidthBytesPerSec = rate("network.bandwidth", n.bandwidth);
  for (const k of ["latencyMs", "jitterMs"] as const) {
    const v = n[k] ?? 0;
    if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
      errors.push(`network.${k}: must be a number >= 0, got ${JSON.stringify(v)}`);
    } else out[k] = v;
  }
  if (n.burst !== undefined) {
    try {
      out.burstBytes = parseSize(n.burst);
      if (out.burstBytes < 1) throw new RangeError("must be at least 1 byte");
    } catch (e) {
      errors.push(`network.burst: ${(e as Error).message}`);
    }
  }
  const sched = n.schedule ?? [];
  if (!Array.isArray(sched)) errors.push("network.schedule: must be a list of { atMs, bandwidth }");
  else {
    sched.forEach((e, i) => {
      const where = `network.schedule[${i}]`;
      if (typeof e !== "object" || e === null || Array.isArray(e)) {
        return errors.push(`${where}: must be an object`);
      }
      const { atMs, bandwidth } = e as Record<string, unknown>;
      unknownFields(e as Record<string, unknown>, where, "network.schedule[]", errors);
      if (typeof atMs !== "number" || !(atMs >= 0)) {
        errors.push(`${where}.atMs: must be a number >= 0, got ${JSON.stringify(atMs)}`);
      }
      out.schedule.push({
        atMs: atMs as number,
        bandwidthBytesPerSec: rate(`${where}.bandwidth`, bandwidth),
      });
    });
    out.schedule.sort((a, b) => a.atMs - b.atMs);
  }
  if (n.kernel !== undefined && typeof n.kernel !== "boolean") {
    errors.push("network.kernel: must be true or false");
  } else out.kernel = n.kernel === true;
  const peak = Math.max(
    out.bandwidthBytesPerSec,
    ...out.schedule.map((e) => e.bandwidthBytesPerSec),
  );
  if (out.burstBytes === 0) out.burstBytes = Math.max(64 * 1024, Math.ceil(peak / 100));
  return out;
}

function resolveFaults(faults: unknown, errors: string[]): FaultSpec[] {
  if (!Array.isArray(faults)) {
    errors.push("faults: must be a list");
    return [];
  }
  faults.forEach((f, i) => {
    const where = `faults[${i}]`;
    if (typeof f !== "object" || f === null || Array.isArray(f)) {
      return errors.push(`${where}: must be an object`);
    }
    const { at, action, durationMs, bytes } = f as Record<string, unknown>;
    unknownFields(f as Record<string, unknown>, where, "faults[]", errors);
    if (STORAGE_FAULTS.includes(action as string)) {
      errors.push(`${where}.action: ${action} needs file migration, which does not exist yet`);
    } else if (!(FAULT_ACTIONS as readonly unknown[]).includes(action)) {
      errors.push(
        `${where}.action: must be one of ${FAULT_ACTIONS.join(", ")}, got ${
          JSON.stringify(action)
        }`,
      );
    }
    if (typeof at !== "object" || at === null || Array.isArray(at)) {
      errors.push(`${where}.at: must be { phase, round? }, { afterBytes } or { afterMs }`);
    } else {
      const a = at as Record<string, unknown>;
      unknownFields(a, `${where}.at`, "faults[].at", errors);
      const keys = Object.keys(a).filter((k) => ["phase", "afterBytes", "afterMs"].includes(k));
      if (keys.length !== 1) {
        errors.push(
          `${where}.at: must have exactly one of phase, afterBytes, afterMs, got ${
            JSON.stringify(at)
          }`,
        );
      } else if (keys[0] === "phase") {
        if (!FAULT_PHASES.includes(a.phase as string)) {
          errors.push(`${where}.at.phase: must be one of ${FAULT_PHASES.join(", ")}`);
        }
        if (a.round !== undefined) {
          if (a.phase !== "round") errors.push(`${where}.at.round: only goes with phase "round"`);
          else if (!Number.isInteger(a.round) || (a.round as number) < 1) {
            errors.push(`${where}.at.round: must be a whole number >= 1`);
          }
        }
      } else {
        const v = a[keys[0]];
        if (typeof v !== "number" || !(v >= 0)) {
          errors.push(`${where}.at.${keys[0]}: must be a number >= 0, got ${JSON.stringify(v)}`);
        }
        if (a.round !== undefined) errors.push(`${where}.at.round: only goes with phase "round"`);
      }
    }
    const needsDuration = ["partition", "stop-source", "stop-destination"].includes(
      action as string,
    );
    if (durationMs !== undefined || needsDuration) {
      if (typeof durationMs !== "number" || !(durationMs > 0)) {
        errors.push(`${where}.durationMs: ${action} needs a duration in ms > 0`);
      } else if (!needsDuration) errors.push(`${where}.durationMs: ${action} takes no duration`);
    }
    if (bytes !== undefined || action === "corrupt") {
      if (action !== "corrupt") errors.push(`${where}.bytes: only goes with action "corrupt"`);
      else if (bytes !== undefined && (!Number.isInteger(bytes) || (bytes as number) < 1)) {
        errors.push(`${where}.bytes: must be a whole number >= 1`);
      }
    }
  });
  return faults as FaultSpec[];
}

function resolveSim(spec: unknown, errors: string[]): ResolvedScenario["sim"] {
  const out: ResolvedScenario["sim"] = { cpuCostUs: {} };
  if (spec === undefined) return out;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    errors.push("sim: must be an object");
    return out;
  }
  const { cpuCostUs } = spec as Record<string, unknown>;
  unknownFields(spec as Record<string, unknown>, "sim", "sim", errors);
  if (cpuCostUs === undefined) return out;
  if (typeof cpuCostUs !== "object" || cpuCostUs === null || Array.isArray(cpuCostUs)) {
    errors.push("sim.cpuCostUs: must be an object of kind: microseconds");
    return out;
  }
  unknownFields(cpuCostUs as Record<string, unknown>, "sim.cpuCostUs", "sim.cpuCostUs", errors);
  for (const [k, v] of Object.entries(cpuCostUs)) {
    if (!(COST_KINDS as readonly string[]).includes(k)) continue; // listed above
    if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
      errors.push(
        `sim.cpuCostUs.${k}: must be a number of microseconds >= 0, got ${JSON.stringify(v)}`,
      );
    } else out.cpuCostUs[k as CostKind] = v;
  }
  return out;
}

/** Resolves `destination.checkpoint`: a copy of the guest taken during the warm-up, or a file. */
function resolveCheckpoint(
  spec: unknown,
  warmupMs: number,
  errors: string[],
): CheckpointSpec | null {
  const d = objectAt(spec, "destination", "destination", errors) as DestinationSpec;
  if (d.checkpoint === undefined) return null;
  const where = "destination.checkpoint";
  const c = objectAt(d.checkpoint, where, where, errors) as Record<string, unknown>;
  if (c.source === "guest") {
    for (const k of ["path", "format"]) {
      if (k in c) errors.push(`${where}.${k}: only with source "file"`);
    }
    const atMs = c.atMs;
    if (typeof atMs !== "number" || !Number.isFinite(atMs) || atMs < 0) {
      errors.push(
        `${where}.atMs: must be a number of milliseconds >= 0, got ${JSON.stringify(atMs)}`,
      );
      return null;
    }
    if (typeof warmupMs === "number" && !(atMs < warmupMs)) {
      errors.push(
        `${where}.atMs: ${atMs} must be less than warmupMs (${warmupMs}): the copy is taken before the migration starts`,
      );
      return null;
    }
    return { source: "guest", atMs };
  }
  if (c.source === "file") {
    if ("atMs" in c) errors.push(`${where}.atMs: only with source "guest"`);
    const ok = typeof c.path === "string" && c.path.length > 0;
    if (!ok) {
      errors.push(`${where}.path: must be a non-empty string, got ${JSON.stringify(c.path)}`);
    }
    const format = c.format;
    if (format !== "elf" && format !== "ferry") {
      errors.push(`${where}.format: must be "elf" or "ferry", got ${JSON.stringify(format)}`);
      return null;
    }
    return ok ? { source: "file", path: c.path as string, format } : null;
  }
  errors.push(`${where}.source: must be "guest" or "file", got ${JSON.stringify(c.source)}`);
  return null;
}
