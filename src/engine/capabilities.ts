/**
 * Every migration capability and parameter, declared once, with defaults and
 * conflicts; {@link resolveMigration} checks a scenario's `migration` block
 * against this table and returns every error at once.
 *
 * Parameters without a capability belong to plain precopy. A capability's own
 * parameters are accepted only when it is on (an unused parameter is almost
 * always a mistake in a comparison).
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

/** A parameter: its name, default, parser and a line of documentation. */
export interface ParameterDecl {
  name: string;
  default: unknown;
  /** Turns the scenario's value into the engine's; throws TypeError/RangeError with a sentence. */
  parse: (value: unknown) => unknown;
  doc: string;
}

/** A capability: its name, parameters and the capabilities it cannot be combined with (and why). */
export interface CapabilityDecl {
  name: string;
  doc: string;
  parameters: ParameterDecl[];
  conflicts: { with: string; why: string }[];
}

const ms = (min = 0) => (v: unknown) => {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw new RangeError(`must be a number of milliseconds >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
};
const int = (min: number, max: number) => (v: unknown) => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`must be a whole number in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
};
const oneOf = (...choices: string[]) => (v: unknown) => {
  if (typeof v !== "string" || !choices.includes(v)) {
    throw new RangeError(
      `must be one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
};
const bandwidth = (v: unknown) => {
  if (v === 0 || v === "0" || v === "unlimited") return 0;
  return parseBandwidth(v);
};
const powerOfTwoPagesSize = (v: unknown) => {
  const bytes = parseSize(v);
  const pages = bytes / 4096;
  if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) {
    throw new RangeError(`must be a power-of-two number of 4 KiB pages, got ${JSON.stringify(v)}`);
  }
  return bytes;
};

/** Parameters of plain precopy (always accepted). */
export const BASE_PARAMETERS: ParameterDecl[] = [
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
];

/** Every capability Ferry has. Later capabilities add their entry here. */
export const CAPABILITIES: CapabilityDecl[] = [
  {
    name: "freePageHints",
    doc:
      "Skip pages the guest reports free (docs/free_page_hints.md): at each dirty-log sync the source asks its hint source under a new command id and never waits for the answer; valid hints clear dirty bits. Cannot be combined with postcopy once postcopy exists (see its conflict).",
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
    conflicts: [{
      with: "postcopy",
      why:
        "a postcopy destination faults to the source on every page it has not received, and skipped free pages never arrive; the two need a discard protocol first (applies once postcopy exists)",
    }],
  },
];

/** The resolved configuration the engine runs with. */
export interface MigrationConfig {
  capabilities: Record<string, boolean>;
  downtimeLimitMs: number;
  /** Bytes per second; 0 = unlimited. */
  maxBandwidth: number;
  maxRounds: number;
  maxTimeMs: number;
  onNoConvergence: "force" | "cancel";
  peerTimeoutMs: number;
  [parameter: string]: unknown;
}

/** Resolves `migration` from a scenario; `errors` lists every problem, each naming its field. */
export function resolveMigration(
  spec:
    | { capabilities?: Record<string, unknown>; parameters?: Record<string, unknown> }
    | undefined,
  where = "migration",
): { config: MigrationConfig; errors: string[] } {
  const errors: string[] = [];
  const caps: Record<string, boolean> = {};
  for (const c of CAPABILITIES) caps[c.name] = false;
  const given = spec?.capabilities ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    errors.push(`${where}.capabilities: must be an object of name: boolean`);
  } else {
    for (const [name, on] of Object.entries(given)) {
      if (!(name in caps)) {
        const known = CAPABILITIES.map((c) => c.name).join(", ") || "none yet";
        errors.push(`${where}.capabilities.${name}: unknown capability (known: ${known})`);
      } else if (typeof on !== "boolean") {
        errors.push(
          `${where}.capabilities.${name}: must be true or false, got ${JSON.stringify(on)}`,
        );
      } else caps[name] = on;
    }
  }
  for (const c of CAPABILITIES) {
    if (!caps[c.name]) continue;
    for (const k of c.conflicts) {
      if (caps[k.with] && c.name < k.with) {
        errors.push(`${where}.capabilities: ${c.name} and ${k.with} cannot be combined: ${k.why}`);
      }
    }
  }
  const config: Record<string, unknown> = { capabilities: caps };
  const decls = new Map<string, { p: ParameterDecl; owner?: string }>();
  for (const p of BASE_PARAMETERS) decls.set(p.name, { p });
  for (const c of CAPABILITIES) {
    for (const p of c.parameters) decls.set(p.name, { p, owner: c.name });
  }
  for (const { p, owner } of decls.values()) {
    if (!owner || caps[owner]) config[p.name] = p.parse(p.default);
  }
  const params = spec?.parameters ?? {};
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    errors.push(`${where}.parameters: must be an object`);
  } else {
    for (const [name, value] of Object.entries(params)) {
      const d = decls.get(name);
      if (!d) {
        errors.push(
          `${where}.parameters.${name}: unknown parameter (known: ${[...decls.keys()].join(", ")})`,
        );
        continue;
      }
      if (d.owner && !caps[d.owner]) {
        errors.push(
          `${where}.parameters.${name}: belongs to capability ${d.owner}, which is not on`,
        );
        continue;
      }
      try {
        config[name] = d.p.parse(value);
      } catch (e) {
        errors.push(`${where}.parameters.${name}: ${(e as Error).message}`);
      }
    }
  }
  return { config: config as MigrationConfig, errors };
}

/** Helpers for capability declarations in other files. */
export const parsers = { ms, int, oneOf, bandwidth, powerOfTwoPagesSize };
