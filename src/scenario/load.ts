/**
 * Loads a scenario by name (`scenarios/NAME.ts`) or from a file (`.ts` with
 * a named export `scenario`, or `.json`). Errors say which file and what.
 *
 * @example
 * ```ts ignore
 * const s = await loadScenario("default");
 * ```
 * @module
 */
import type { Scenario } from "../contract/types.ts";

const SCENARIOS = new URL("../../scenarios/", import.meta.url);

/**
 * Loads a scenario. Throws TypeError naming the file on any problem.
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
  try {
    await Deno.stat(url);
  } catch {
    const hint = isPath ? "" : ` (known: ${(await listScenarios()).join(", ")})`;
    throw new TypeError(`Scenario "${nameOrFile}" not found: no file ${path}${hint}`);
  }
  if (path.endsWith(".json")) {
    const text = await Deno.readTextFile(url);
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
  if (!mod.scenario) throw new TypeError(`${path}: has no named export "scenario"`);
  return mod.scenario;
}

/** Names of the scenarios in `scenarios/`. */
export async function listScenarios(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(SCENARIOS)) {
    if (e.isFile && e.name.endsWith(".ts")) names.push(e.name.slice(0, -3));
  }
  return names.sort();
}
