/**
 * Loads a scenario by name (`scenarios/NAME.ts`) or from a file (`.ts` with
 * a named export `scenario`, or `.json`). Errors say which file and what, in
 * one sentence; an unknown name suggests the nearest known one. The loaded
 * value is not checked here: `resolveScenario` does that.
 *
 * @example
 * ```ts ignore
 * import { loadScenario } from "./load.ts";
 * const s = await loadScenario("default");
 * ```
 * @module
 */
import type { Scenario } from "../contract/types.ts";
import { nearest } from "../util/nearest.ts";

const SCENARIOS = new URL("../../scenarios/", import.meta.url);

/**
 * Loads a scenario. Throws TypeError naming the file on any problem: not
 * found, a folder, neither `.ts` nor `.json`, unreadable, not valid JSON, a
 * module that does not load or has no named export `scenario`.
 *
 * @example
 * ```ts
 * import { loadScenario } from "./load.ts";
 * const s = await loadScenario("default");
 * console.log(s.name); // "default"
 * ```
 */
export async function loadScenario(nameOrFile: string): Promise<Scenario> {
  const isPath = nameOrFile.includes("/") || nameOrFile.endsWith(".ts") ||
    nameOrFile.endsWith(".json");
  const url = isPath
    ? new URL(nameOrFile, `file://${Deno.cwd()}/`)
    : new URL(`${nameOrFile}.ts`, SCENARIOS);
  const path = decodeURIComponent(url.pathname);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(url);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
      throw new TypeError(`${path}: cannot be read: ${(e as Error).message}`);
    }
    const hint = isPath ? "" : nearest(nameOrFile, await listScenarios());
    throw new TypeError(`Scenario "${nameOrFile}" not found: no file ${path}${hint}`);
  }
  if (info.isDirectory) throw new TypeError(`${path}: is a folder, not a scenario file`);
  if (!path.endsWith(".json") && !path.endsWith(".ts")) {
    throw new TypeError(`${path}: a scenario file ends in .ts or .json`);
  }
  if (path.endsWith(".json")) {
    let text: string;
    try {
      text = await Deno.readTextFile(url);
    } catch (e) {
      throw new TypeError(`${path}: cannot be read: ${(e as Error).message}`);
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new TypeError(`${path}: not valid JSON: ${(e as Error).message}`);
    }
  }
  let mod: { scenario?: Scenario };
  try {
    mod = await import(url.href);
  } catch (e) {
    throw new TypeError(`${path}: cannot be loaded: ${(e as Error).message}`);
  }
  if (!("scenario" in mod) || mod.scenario === undefined) {
    throw new TypeError(`${path}: has no named export "scenario"`);
  }
  return mod.scenario;
}

/**
 * Names of the scenarios in `scenarios/`.
 *
 * @example
 * ```ts ignore
 * import { listScenarios } from "./load.ts";
 * console.log(await listScenarios()); // ["compressible_compress", ..., "default", ...]
 * ```
 */
export async function listScenarios(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(SCENARIOS)) {
    if (e.isFile && e.name.endsWith(".ts")) names.push(e.name.slice(0, -3));
  }
  return names.sort();
}
