/**
 * Comparison groups: a base scenario and the cases that vary it, as data.
 *
 * ```json
 * {
 *   "name": "capabilities",
 *   "description": "Every capability, alone, against plain precopy",
 *   "base": { "name": "cap", "guest": { "ram": "64MiB" } },
 *   "set": { "migration.parameters.maxBandwidth": "1Gbit" },
 *   "repeat": 3,
 *   "cases": [
 *     { "label": "precopy" },
 *     { "each": "capability", "except": ["mappedRam"],
 *       "with": { "xbzrle": { "migration.parameters.xbzrleCacheSize": "16MiB" } } },
 *     { "sweep": "network.bandwidth", "values": ["100Mbit", "1Gbit"] },
 *     { "label": "small limit", "set": { "migration.parameters.downtimeLimitMs": 10 } }
 *   ]
 * }
 * ```
 *
 * A CI suite (`ci/*.json`, a list of `scenarios`) is also a group: one case
 * per scenario.
 *
 * `base` is an inline scenario, or a scenario name or file as `deno task
 * scenario` takes it. `{ "each": "capability" }` becomes one case per
 * capability declared in `src/engine/capabilities.ts` at run time, with that
 * capability alone switched on, so the group grows with every capability
 * that lands (a capability that needs a transport, as mappedRam needs a
 * file, gets that transport); `with` gives one capability's case its own edits (its
 * parameters, or what it needs, such as hashDedup's destination checkpoint), and is ignored for a
 * capability that does not exist (yet). Every case runs with the same seed, workload and network
 * except for what it changes.
 *
 * @example
 * ```ts
 * import { resolveGroup } from "./group.ts";
 * const g = await resolveGroup({
 *   name: "g",
 *   base: { name: "b", guest: { ram: "16MiB" } },
 *   cases: [{ sweep: "migration.parameters.downtimeLimitMs", values: [10, 100] }],
 * }, { path: "inline" });
 * console.log(g.cases.map((c) => c.label)); // ["downtimeLimitMs=10", "downtimeLimitMs=100"]
 * ```
 * @module
 */
import { CAPABILITIES, type CapabilityDecl } from "../engine/capabilities.ts";
import type { Scenario } from "../contract/types.ts";
import {
  applySet,
  baseName,
  loadBase,
  loadDataFile,
  readHeader,
  ROOT,
  scenarioSafe,
  setPath,
} from "./data_file.ts";
import type { Group, GroupCase } from "./group_cases.ts";
export type { Group, GroupCase } from "./group_cases.ts";
import { resolveSuite, suiteAsGroup } from "./suite.ts";

/** Folders searched for group names. */
export const GROUP_FOLDERS = [new URL("scenarios/groups/", ROOT), new URL("ci/", ROOT)];

const GROUP_KEYS = new Set([
  "name",
  "description",
  "base",
  "set",
  "mode",
  "repeat",
  "seed",
  "cases",
]);

/** Loads a group by name (`scenarios/groups/NAME.json`, `ci/NAME.json`) or file, and expands it. */
export async function loadGroup(
  nameOrFile: string,
  options: { capabilities?: readonly CapabilityDecl[] } = {},
): Promise<Group> {
  const { value, path } = await loadDataFile(nameOrFile, {
    what: "Group",
    folders: GROUP_FOLDERS,
    exportName: "group",
  });
  const fallbackName = baseName(path);
  if (typeof value === "object" && value !== null && "scenarios" in value && !("cases" in value)) {
    // A CI suite compares as a group: one case per scenario.
    return suiteAsGroup(await resolveSuite(value, { path, fallbackName }));
  }
  return await resolveGroup(value, { path, fallbackName, ...options });
}

/**
 * Expands a group definition into its cases. Throws TypeError listing every
 * problem, each prefixed with the file and the field.
 */
export async function resolveGroup(
  def: unknown,
  options: { path: string; fallbackName?: string; capabilities?: readonly CapabilityDecl[] },
): Promise<Group> {
  const caps = options.capabilities ?? CAPABILITIES;
  const { d: g, header, errors, fail } = readHeader(def, {
    what: "group",
    keys: GROUP_KEYS,
    ...options,
  });
  const name = header.name;
  let base: Scenario = { name: "base" };
  try {
    base = await loadBase(g.base ?? "default", "base");
  } catch (e) {
    errors.push((e as Error).message);
  }
  errors.push(...applySet(base, g.set, "set"));
  if (header.seed !== undefined) base.seed = header.seed;

  const cases: GroupCase[] = [];
  const add = (label: string, edit: (s: Scenario) => string[], where: string) => {
    const scenario = structuredClone(base);
    scenario.name = `${name}.${scenarioSafe(label)}`;
    const errs = edit(scenario);
    errors.push(...errs.map((e) => e.startsWith(where) ? e : `${where}: ${e}`));
    cases.push({ label, scenario });
  };
  if (!Array.isArray(g.cases) || g.cases.length === 0) {
    errors.push("cases: must be a non-empty list");
  } else {
    g.cases.forEach((c, i) => expandCase(c, `cases[${i}]`, caps, add, errors));
  }
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.scenario.name)) errors.push(`cases: two cases are labelled "${c.label}"`);
    seen.add(c.scenario.name);
  }
  if (errors.length) throw fail();
  return {
    name,
    description: header.description,
    path: options.path,
    mode: header.mode,
    repeat: header.repeat,
    cases,
  };
}

const CASE_KEYS = new Set(["label", "set", "sweep", "values", "each", "except", "with"]);

function expandCase(
  c: unknown,
  where: string,
  caps: readonly CapabilityDecl[],
  add: (label: string, edit: (s: Scenario) => string[], where: string) => void,
  errors: string[],
) {
  if (typeof c !== "object" || c === null || Array.isArray(c)) {
    errors.push(`${where}: must be an object`);
    return;
  }
  const k = c as Record<string, unknown>;
  for (const key of Object.keys(k)) {
    if (!CASE_KEYS.has(key)) errors.push(`${where}.${key}: unknown field`);
  }
  if (k.label !== undefined && (typeof k.label !== "string" || !k.label.trim())) {
    errors.push(`${where}.label: must be a non-empty string`);
    return;
  }
  const label = k.label as string | undefined;
  if (k.each !== undefined) {
    if (k.each !== "capability") {
      errors.push(`${where}.each: must be "capability", got ${JSON.stringify(k.each)}`);
      return;
    }
    if (k.sweep !== undefined) errors.push(`${where}: each and sweep cannot be combined`);
    const except = k.except ?? [];
    if (!Array.isArray(except) || except.some((e) => typeof e !== "string")) {
      errors.push(`${where}.except: must be a list of capability names`);
      return;
    }
    const extra = (k.with ?? {}) as Record<string, unknown>;
    if (typeof extra !== "object" || extra === null || Array.isArray(extra)) {
      errors.push(`${where}.with: must be an object of capability: { "dotted.path": value }`);
      return;
    }
    for (const cap of caps) {
      if (except.includes(cap.name)) continue;
      add(label ? label.replaceAll("{value}", cap.name) : cap.name, (s) => {
        s.migration = { ...s.migration, capabilities: { [cap.name]: true } };
        // A capability that needs a transport (mappedRam: a file) gets it, as its users would give it.
        if (cap.requiresTransport) {
          s.migration.transport = { kind: cap.requiresTransport.kind as "tcp" | "file" };
        }
        return [
          ...applySet(s, k.set, `${where}.set`),
          ...applySet(s, extra[cap.name], `${where}.with.${cap.name}`),
        ];
      }, where);
    }
    return;
  }
  for (const key of ["except", "with"]) {
    if (k[key] !== undefined) errors.push(`${where}.${key}: only goes with each`);
  }
  if (k.sweep !== undefined) {
    if (typeof k.sweep !== "string") {
      errors.push(`${where}.sweep: must be a dotted path such as "network.bandwidth"`);
      return;
    }
    const sweep = k.sweep;
    if (!Array.isArray(k.values) || k.values.length === 0) {
      errors.push(`${where}.values: must be a non-empty list`);
      return;
    }
    const leaf = sweep.split(".").at(-1);
    for (const v of k.values) {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      add(label ? label.replaceAll("{value}", text) : `${leaf}=${text}`, (s) => {
        const errs = applySet(s, k.set, `${where}.set`);
        try {
          setPath(s, sweep, v);
        } catch (e) {
          errs.push(`${where}.sweep: ${(e as Error).message}`);
        }
        return errs;
      }, where);
    }
    return;
  }
  if (k.values !== undefined) errors.push(`${where}.values: only goes with sweep`);
  if (!label) {
    errors.push(`${where}: needs a label (or each, or sweep)`);
    return;
  }
  add(label, (s) => applySet(s, k.set, `${where}.set`), where);
}
