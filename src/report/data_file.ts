/**
 * Loading the data files comparisons and CI suites are made of: a name
 * looked up in known folders, or a path to a `.json` file or a `.ts` module
 * with a named export. Also the dotted-path edits (`"guest.ram": "64MiB"`)
 * that groups and suites apply to a base scenario.
 *
 * @example
 * ```ts
 * import { setPath } from "./data_file.ts";
 * const s = { name: "x", guest: { ram: "1GiB" } };
 * setPath(s, "guest.workload.kind", "idle");
 * console.log(s.guest); // { ram: "1GiB", workload: { kind: "idle" } }
 * ```
 * @module
 */
import { loadScenario } from "../scenario/load.ts";
import type { Scenario } from "../contract/types.ts";

/** The project's root folder (where `scenarios/` and `ci/` live). */
export const ROOT = new URL("../../", import.meta.url);

/** Whether a name is a path (contains a slash or ends in .json/.ts) rather than a short name. */
export function isPath(nameOrFile: string): boolean {
  return nameOrFile.includes("/") || /\.(json|ts)$/.test(nameOrFile);
}

/**
 * Loads a data file by name from `folders` (`NAME.json` or `NAME.ts`), or by
 * path. A `.ts` module must export `exportName`. Returns the value and the
 * file it came from. Throws TypeError naming the file on any problem.
 */
export async function loadDataFile(
  nameOrFile: string,
  options: { what: string; folders: URL[]; exportName: string },
): Promise<{ value: unknown; path: string }> {
  const candidates = isPath(nameOrFile)
    ? [new URL(nameOrFile, `file://${Deno.cwd()}/`)]
    : options.folders.flatMap((
      f,
    ) => [new URL(`${nameOrFile}.json`, f), new URL(`${nameOrFile}.ts`, f)]);
  const url = await firstExisting(candidates);
  if (!url) {
    const known = isPath(nameOrFile)
      ? ""
      : ` (known: ${(await listNames(options.folders)).join(", ") || "none"})`;
    throw new TypeError(
      `${options.what} "${nameOrFile}" not found: no file ${
        candidates.map(pathOf).join(" or ")
      }${known}`,
    );
  }
  const path = pathOf(url);
  if (path.endsWith(".json")) {
    try {
      return { value: JSON.parse(await Deno.readTextFile(url)), path };
    } catch (e) {
      throw new TypeError(`${path}: not valid JSON: ${(e as Error).message}`);
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(url.href);
  } catch (e) {
    throw new TypeError(`${path}: cannot be loaded: ${(e as Error).message}`);
  }
  if (!(options.exportName in mod)) {
    throw new TypeError(`${path}: has no named export "${options.exportName}"`);
  }
  return { value: mod[options.exportName], path };
}

/** Names of the `.json` and `.ts` files in some folders (missing folders are skipped). */
export async function listNames(folders: URL[]): Promise<string[]> {
  const names = new Set<string>();
  for (const f of folders) {
    try {
      for await (const e of Deno.readDir(f)) {
        const m = /^(.*)\.(json|ts)$/.exec(e.name);
        if (e.isFile && m && !m[1].endsWith("_test")) names.add(m[1]);
      }
    } catch {
      // no such folder
    }
  }
  return [...names].sort();
}

async function firstExisting(urls: URL[]): Promise<URL | undefined> {
  for (const u of urls) {
    try {
      if ((await Deno.stat(u)).isFile) return u;
    } catch {
      // try the next
    }
  }
  return undefined;
}

function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/**
 * Resolves a base scenario: an inline object, or a scenario name/file as
 * `deno task scenario` takes it. Returns a deep copy the caller may edit.
 */
export async function loadBase(base: unknown, where: string): Promise<Scenario> {
  if (typeof base === "string") {
    try {
      return structuredClone(await loadScenario(base));
    } catch (e) {
      throw new TypeError(`${where}: ${(e as Error).message}`);
    }
  }
  if (typeof base !== "object" || base === null || Array.isArray(base)) {
    throw new TypeError(`${where}: must be a scenario object or a scenario name or file`);
  }
  return structuredClone(base) as Scenario;
}

/** Sets `obj[a][b][c] = value` for the path `"a.b.c"`, creating objects on the way. */
export function setPath(obj: object, path: string, value: unknown): void {
  const keys = path.split(".");
  if (keys.some((k) => !k || k === "__proto__" || k === "constructor" || k === "prototype")) {
    throw new RangeError(`"${path}" is not a dotted path such as "guest.workload.dirtyRate"`);
  }
  let o = obj as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    const next = o[k];
    if (next === undefined) o[k] = {};
    else if (typeof next !== "object" || next === null || Array.isArray(next)) {
      throw new RangeError(`"${path}": ${k} is not an object`);
    }
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]] = structuredClone(value);
}

/** Applies every `path: value` of `set` (checked to be an object) to `obj`; returns the errors. */
export function applySet(obj: object, set: unknown, where: string): string[] {
  if (set === undefined) return [];
  if (typeof set !== "object" || set === null || Array.isArray(set)) {
    return [`${where}: must be an object of "dotted.path": value`];
  }
  const errors: string[] = [];
  for (const [path, value] of Object.entries(set)) {
    try {
      setPath(obj, path, value);
    } catch (e) {
      errors.push(`${where}: ${(e as Error).message}`);
    }
  }
  return errors;
}

/** Makes a label safe for a scenario name (letters, digits, ".", "_", "-"). */
export function scenarioSafe(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "case";
}

/** The fields groups and suites share. */
export interface Header {
  name: string;
  description: string;
  mode?: "real" | "sim";
  repeat: number;
  seed?: number;
}

/**
 * Starts reading a group or suite definition: checks it is an object with
 * only `keys`, and reads the shared fields (name, description, mode, repeat,
 * seed). Problems go to `errors`; `fail()` makes the TypeError that lists
 * them all under the file's name. Throws it at once when `def` is not an
 * object.
 */
export function readHeader(
  def: unknown,
  o: { what: string; path: string; keys: Set<string>; fallbackName?: string },
): { d: Record<string, unknown>; header: Header; errors: string[]; fail: () => TypeError } {
  const errors: string[] = [];
  const fail = () => new TypeError(`${o.path}: invalid ${o.what}:\n  ${errors.join("\n  ")}`);
  if (typeof def !== "object" || def === null || Array.isArray(def)) {
    errors.push(`${o.what}: must be an object`);
    throw fail();
  }
  const d = def as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!o.keys.has(k)) errors.push(`${k}: unknown field`);
  const name = d.name ?? o.fallbackName;
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]+$/.test(name)) {
    errors.push(`name: must be letters, digits, ".", "_" or "-", got ${JSON.stringify(name)}`);
  }
  if (d.description !== undefined && typeof d.description !== "string") {
    errors.push("description: must be a string");
  }
  if (d.mode !== undefined && d.mode !== "real" && d.mode !== "sim") {
    errors.push(`mode: must be "real" or "sim", got ${JSON.stringify(d.mode)}`);
  }
  const repeat = d.repeat ?? 1;
  if (!Number.isInteger(repeat) || (repeat as number) < 1) {
    errors.push(`repeat: must be a whole number >= 1, got ${JSON.stringify(d.repeat)}`);
  }
  if (d.seed !== undefined && !(Number.isSafeInteger(d.seed) && (d.seed as number) >= 0)) {
    errors.push(`seed: must be a whole number >= 0, got ${JSON.stringify(d.seed)}`);
  }
  const header: Header = {
    name: name as string,
    description: typeof d.description === "string" ? d.description : "",
    mode: d.mode as Header["mode"],
    repeat: repeat as number,
    seed: d.seed as number | undefined,
  };
  return { d, header, errors, fail };
}

/** A file's name without its folder and extension ("ci/quick.json" -> "quick"). */
export function baseName(path: string): string {
  return path.replace(/^.*\//, "").replace(/\.(json|ts)$/, "");
}
