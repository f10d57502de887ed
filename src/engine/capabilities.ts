/**
 * Every migration capability and parameter, declared once, with defaults and
 * conflicts; {@link resolveMigration} checks a scenario's `migration` block
 * against this table and returns every error at once.
 *
 * Parameters without a capability belong to plain precopy. A capability's own
 * parameters are accepted whether or not it is on, as QEMU accepts them, so
 * that a comparison can flip one capability and keep the rest; one given for a
 * capability that is off comes back as a warning.
 *
 * @example
 * ```ts
 * import { resolveMigration } from "./capabilities.ts";
 * const { config, errors } = resolveMigration({ parameters: { downtimeLimitMs: 100 } });
 * console.log(errors.length, config.downtimeLimitMs); // 0 100
 * ```
 * @module
 */
import { parseBandwidth, parseSize } from "../util/size.ts";
import { PAGE_SIZE } from "../contract/page.ts";
import { nearest } from "../util/nearest.ts";
import { compressMethods } from "./compress.ts";

/**
 * A parameter: its name, default, parser and a line of documentation.
 *
 * @example
 * ```ts
 * import type { ParameterDecl } from "./capabilities.ts";
 * const p: ParameterDecl<number> = {
 *   name: "demoMs",
 *   default: 10,
 *   parse: (v) => Number(v),
 *   doc: "A parameter of a test's own table.",
 * };
 * ```
 */
export interface ParameterDecl<T = unknown, N extends string = string> {
  /** The name under `migration.parameters`. */
  name: N;
  /** The value used when the scenario gives none, as the scenario would write it. */
  default: unknown;
  /** Turns the scenario's value into the engine's; throws TypeError/RangeError with a sentence. */
  parse: (value: unknown) => T;
  /** One line on what it does. */
  doc: string;
}

/**
 * A capability: its name, parameters and the capabilities it cannot be combined with (and why).
 *
 * @example
 * ```ts
 * import { type CapabilityDecl, resolveMigration } from "./capabilities.ts";
 * const demo: CapabilityDecl = { name: "demo", doc: "A test's own capability.", parameters: [], conflicts: [] };
 * console.log(resolveMigration({ capabilities: { demo: true } }, { capabilities: [demo] }).errors); // []
 * ```
 */
export interface CapabilityDecl<N extends string = string> {
  /** The name under `migration.capabilities`. */
  name: N;
  /** One line on what it does. */
  doc: string;
  /** Its own parameters, accepted (with a warning) when it is off. */
  parameters: readonly ParameterDecl[];
  /** Capabilities it cannot be combined with, and why. */
  conflicts: readonly { with: string; why: string }[];
  /** The transport kind it needs (`migration.transport.kind`), and why; none: any. */
  requiresTransport?: { kind: string; why: string };
}

const ms = (min = 0) => (v: unknown): number => {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw new RangeError(`must be a number of milliseconds >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
};
const int = (min: number, max: number) => (v: unknown): number => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`must be a whole number in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
};
const oneOf = <const C extends readonly string[]>(...choices: C) => (v: unknown): C[number] => {
  if (typeof v !== "string" || !choices.includes(v)) {
    throw new RangeError(
      `must be one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
};
const bandwidth = (v: unknown): number => {
  if (v === 0 || v === "0" || v === "unlimited") return 0;
  return parseBandwidth(v);
};
const powerOfTwoPagesSize = (v: unknown): number => {
  const bytes = parseSize(v);
  const pages = bytes / 4096;
  if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
    throw new RangeError(`must be a power-of-two number of 4 KiB pages, got ${JSON.stringify(v)}`);
  }
  return bytes;
};

/**
 * Parameters of plain precopy (always accepted).
 *
 * @example
 * ```ts
 * import { BASE_PARAMETERS } from "./capabilities.ts";
 * console.log(BASE_PARAMETERS.map((p) => p.name));
 * // ["downtimeLimitMs", "maxBandwidth", "maxRounds", "maxTimeMs", "onNoConvergence", "peerTimeoutMs"]
 * ```
 */
export const BASE_PARAMETERS = [
  {
    name: "downtimeLimitMs",
    default: 300,
    parse: ms(0),
    doc: "Largest expected downtime at which the source stops the guest and copies the rest.",
  },
  {
    name: "maxBandwidth",
    default: 0,
    parse: bandwidth,
    doc:
      'Rate limit of the stream while the guest runs ("1Gbit", "100MiB/s"; 0 = unlimited). Stop-and-copy is not limited.',
  },
  {
    name: "maxRounds",
    default: 30,
    parse: int(0, 100_000),
    doc: "Most dirty rounds after the bulk pass before onNoConvergence applies.",
  },
  {
    name: "maxTimeMs",
    default: 60_000,
    parse: ms(1),
    doc: "Longest precopy time before onNoConvergence applies.",
  },
  {
    name: "onNoConvergence",
    default: "force",
    parse: oneOf("force", "cancel"),
    doc: "What to do when maxRounds or maxTimeMs is hit: force stop-and-copy, or cancel.",
  },
  {
    name: "peerTimeoutMs",
    default: 5_000,
    parse: ms(1),
    doc:
      "A peer that makes no progress on the stream for this long is declared silent and the migration fails.",
  },
] as const satisfies readonly ParameterDecl[];

const compressMethod = (v: unknown): "deflate" | "zstd" => {
  if (v === "zstd" && !compressMethods().includes("zstd")) {
    throw new RangeError('"zstd" is not offered by this Deno\'s node:zlib; use "deflate"');
  }
  return oneOf("deflate", "zstd")(v);
};

/**
 * Every capability Ferry has. Later capabilities add their entry here.
 *
 * Combinations: xbzrle and compress combine (XBZRLE deltas go as they are,
 * every page that goes in full, in the bulk pass or on a cache miss or
 * overflow, is compressed; the destination's copy is the same either way).
 * Conflicts arrive with the capability that brings them: a rule names only
 * capabilities of this table (a test checks it).
 *
 * @example
 * ```ts
 * import { CAPABILITIES } from "./capabilities.ts";
 * console.log(CAPABILITIES.map((c) => c.name)); // ["xbzrle", "compress", "freePageHints", "hashDedup", "mappedRam"]
 * ```
 */
export const CAPABILITIES = [
  {
    name: "xbzrle",
    doc:
      "XBZRLE delta compression (seed 001): after the bulk pass, a dirty page found in the source's page cache goes as an XOR-based zero-run/non-zero-run delta against the copy the destination holds; an unchanged page sends nothing.",
    parameters: [
      {
        name: "xbzrleCacheSize",
        default: "64MiB",
        parse: powerOfTwoPagesSize,
        doc:
          "Size of the source's page cache: a power-of-two number of 4 KiB pages (\"32MiB\", 8388608). Capped at the guest's RAM rounded up to a power of two.",
      },
      {
        name: "xbzrleOverflowBytes",
        default: PAGE_SIZE - 64,
        parse: int(1, PAGE_SIZE),
        doc:
          "Longest delta sent; a page whose delta is longer overflows and goes in full (default 4032: a delta must save at least 64 bytes; QEMU: one page).",
      },
    ],
    conflicts: [],
  },
  {
    name: "compress",
    doc:
      "Page compression: runs of up to 64 consecutive pages that go in full are compressed together with deflate or zstd; a batch that does not shrink goes uncompressed.",
    parameters: [
      {
        name: "compressMethod",
        default: "deflate",
        parse: compressMethod,
        doc: '"deflate" (raw RFC 1951) or "zstd" (where this Deno\'s node:zlib offers it).',
      },
      {
        name: "compressLevel",
        default: 1,
        parse: int(1, 9),
        doc:
          "1 (fastest, QEMU's default) to 9 (smallest); zstd reads the same number on its scale.",
      },
    ],
    conflicts: [],
  },
  {
    name: "freePageHints",
    doc:
      "Skip pages the guest reports free (docs/free_page_hints.md): at each dirty-log sync the source asks its hint source under a new command id and never waits for the answer; valid hints clear dirty bits.",
    parameters: [
      {
        name: "hintTimeoutMs",
        default: 500,
        parse: ms(1),
        doc:
          "How long a hint request is honoured after it is issued; later answers are refused and migration never waits for any.",
      },
      {
        name: "hintSource",
        default: "balloon",
        parse: oneOf("balloon", "static"),
        doc:
          'Where hints come from: "balloon" (the guest\'s driver, guest.balloon.behaviour) or "static" (guest.staticFreeMap).',
      },
    ],
    conflicts: [],
  },
  {
    name: "hashDedup",
    doc:
      "Checkpoint-assisted migration (seed 000, docs/hash_dedup.md): the destination indexes a checkpoint (destination.checkpoint) by SHA-256 and summarises it at setup; a page whose content it holds goes as its 32-byte hash, verified on arrival, and one it cannot resolve is asked for in full.",
    parameters: [],
    conflicts: [
      {
        with: "xbzrle",
        why:
          "XBZRLE's cache must hold exactly the destination's copy of a page, and a hash the destination cannot resolve leaves it another until the page is sent again",
      },
    ],
    requiresTransport: {
      kind: "tcp",
      why:
        "the destination's summary and its requests for unresolved hashes come back on the return path, which a file has not",
    },
  },
  {
    name: "mappedRam",
    doc:
      "Mapped-ram (QEMU 9's mapped-ram, seed 002; docs/mapped_ram.md): migrate to a file where each page has a fixed offset (pages_offset + index x page size), with a bitmap of the pages present; a page dirtied again is rewritten in place, zero pages are not written, and the file never grows past the RAM.",
    parameters: [],
    conflicts: [
      {
        with: "xbzrle",
        why:
          "a mapped-ram file holds each page whole at its offset; an XBZRLE delta has no place there",
      },
      {
        with: "compress",
        why:
          "a mapped-ram file holds each page whole at its offset; a compressed batch has no fixed size",
      },
      {
        with: "hashDedup",
        why:
          "a file has no return path for the checkpoint's summary or the requests of unresolved hashes, and a mapped-ram file holds each page whole",
      },
    ],
    requiresTransport: {
      kind: "file",
      why: "pages are written at fixed offsets, so the transport must be a seekable file",
    },
  },
] as const satisfies readonly CapabilityDecl<string>[];

/**
 * Names of the capabilities.
 *
 * @example
 * ```ts
 * import type { CapabilityName } from "./capabilities.ts";
 * const c: CapabilityName = "xbzrle";
 * ```
 */
export type CapabilityName = (typeof CAPABILITIES)[number]["name"];

/**
 * Any parameter the table declares: a base parameter, or one of a capability's own.
 *
 * @example
 * ```ts
 * import type { AnyParameter } from "./capabilities.ts";
 * const names: AnyParameter["name"][] = ["downtimeLimitMs", "xbzrleCacheSize"];
 * ```
 */
export type AnyParameter =
  | (typeof BASE_PARAMETERS)[number]
  | (typeof CAPABILITIES)[number]["parameters"][number];

/**
 * Every parameter's value as the engine reads it, derived from the table.
 *
 * @example
 * ```ts
 * import type { MigrationParameters } from "./capabilities.ts";
 * const limit: MigrationParameters["downtimeLimitMs"] = 300;
 * ```
 */
export type MigrationParameters = {
  [P in AnyParameter as P["name"]]: ReturnType<P["parse"]>;
};

/**
 * The resolved configuration the engine runs with: which capabilities are
 * on, and every parameter (a capability's own parameters hold their default,
 * or the scenario's value, whether or not it is on, as QEMU keeps them).
 *
 * @example
 * ```ts
 * import type { MigrationConfig } from "./capabilities.ts";
 * const cacheBytes = (c: MigrationConfig) => c.capabilities.xbzrle ? c.xbzrleCacheSize : 0;
 * ```
 */
export type MigrationConfig =
  & { capabilities: Record<CapabilityName, boolean> }
  & MigrationParameters;

/**
 * What {@link resolveMigration} found.
 *
 * @example
 * ```ts
 * import { type ResolvedMigration, resolveMigration } from "./capabilities.ts";
 * const r: ResolvedMigration = resolveMigration({ parameters: { downtimeLimitMs: -1 } });
 * console.log(r.errors.length); // 1
 * ```
 */
export interface ResolvedMigration {
  /** The configuration, with every default filled in. */
  config: MigrationConfig;
  /** Problems that make the scenario invalid, each naming its field. */
  errors: string[];
  /** Parameters given for a capability that is off: accepted, unused. */
  warnings: string[];
}

/**
 * Options of {@link resolveMigration}.
 *
 * @example
 * ```ts
 * import { type ResolveMigrationOptions, resolveMigration } from "./capabilities.ts";
 * const options: ResolveMigrationOptions = { where: "cases[0].migration" };
 * console.log(resolveMigration({ parameters: { maxRounds: -1 } }, options).errors[0]);
 * // "cases[0].migration.parameters.maxRounds: ..."
 * ```
 */
export interface ResolveMigrationOptions {
  /** The field path used in messages (default "migration"). */
  where?: string;
  /** The capability table (tests declare their own). */
  capabilities?: readonly CapabilityDecl[];
}

/**
 * Resolves `migration` from a scenario; `errors` lists every problem, each
 * naming its field, and `warnings` every parameter of a capability that is off.
 *
 * @example
 * ```ts
 * import { resolveMigration } from "./capabilities.ts";
 * const { config, errors } = resolveMigration({
 *   capabilities: { xbzrle: true },
 *   parameters: { xbzrleCacheSize: "8MiB" },
 * });
 * console.log(errors, config.xbzrleCacheSize); // [] 8388608
 * ```
 */
export function resolveMigration(
  spec:
    | {
      capabilities?: Record<string, unknown>;
      parameters?: Record<string, unknown>;
      transport?: unknown;
    }
    | undefined,
  options: ResolveMigrationOptions = {},
): ResolvedMigration {
  const where = options.where ?? "migration";
  const table: readonly CapabilityDecl[] = options.capabilities ?? CAPABILITIES;
  const errors: string[] = [];
  const warnings: string[] = [];
  const caps: Record<string, boolean> = {};
  for (const c of table) caps[c.name] = false;
  const given = spec?.capabilities ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    errors.push(`${where}.capabilities: must be an object of name: boolean`);
  } else {
    for (const [name, on] of Object.entries(given)) {
      if (!(name in caps)) {
        errors.push(
          `${where}.capabilities.${name}: unknown capability${nearest(name, Object.keys(caps))}`,
        );
      } else if (typeof on !== "boolean") {
        errors.push(
          `${where}.capabilities.${name}: must be true or false, got ${JSON.stringify(on)}`,
        );
      } else caps[name] = on;
    }
  }
  // A conflict declared by either side (or both) is reported once per pair.
  const reported = new Set<string>();
  for (const c of table) {
    if (!caps[c.name]) continue;
    for (const k of c.conflicts) {
      const [a, b] = [c.name, k.with].sort();
      if (caps[k.with] && !reported.has(`${a}+${b}`)) {
        reported.add(`${a}+${b}`);
        errors.push(`${where}.capabilities: ${a} and ${b} cannot be combined: ${k.why}`);
      }
    }
  }
  // A capability that needs a transport kind (mappedRam: a file).
  const transportKind = (spec?.transport as { kind?: unknown } | undefined)?.kind ?? "tcp";
  for (const c of table) {
    const need = c.requiresTransport;
    if (caps[c.name] && need && transportKind !== need.kind) {
      errors.push(
        `${where}.capabilities.${c.name}: needs ${where}.transport { kind: "${need.kind}" }, got ${
          JSON.stringify(transportKind)
        }: ${need.why}`,
      );
    }
  }
  const config: Record<string, unknown> = { capabilities: caps };
  const decls = new Map<string, { p: ParameterDecl; owner?: string }>();
  for (const p of BASE_PARAMETERS) decls.set(p.name, { p });
  for (const c of table) {
    for (const p of c.parameters) decls.set(p.name, { p, owner: c.name });
  }
  for (const { p } of decls.values()) config[p.name] = p.parse(p.default);
  const params = spec?.parameters ?? {};
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    errors.push(`${where}.parameters: must be an object`);
  } else {
    for (const [name, value] of Object.entries(params)) {
      const d = decls.get(name);
      if (!d) {
        errors.push(
          `${where}.parameters.${name}: unknown parameter${nearest(name, [...decls.keys()])}`,
        );
        continue;
      }
      try {
        config[name] = d.p.parse(value);
      } catch (e) {
        errors.push(`${where}.parameters.${name}: ${(e as Error).message}`);
        continue;
      }
      if (d.owner && !caps[d.owner]) {
        warnings.push(
          `${where}.parameters.${name}: unused, capability ${d.owner} is off`,
        );
      }
    }
  }
  // The table above is the type's source: every declared parameter was set.
  return { config: config as MigrationConfig, errors, warnings };
}

/** Helpers for capability declarations in other files. */
export const parsers = { ms, int, oneOf, bandwidth, powerOfTwoPagesSize };
