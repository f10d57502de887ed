/**
 * What a comparison group is once expanded: its cases, each a label and the
 * scenario it runs, and the validation every case goes through before
 * anything runs. Groups (`group.ts`), suites (`suite.ts`) and the runner of
 * groups (`compare.ts`) all build on this file, which imports none of them,
 * so that imports among them run one way.
 *
 * @example
 * ```ts
 * import { validateCases } from "./group_cases.ts";
 * const errors = validateCases(
 *   [{ label: "big", scenario: { name: "g.big", guest: { ram: "1Zib" } } }],
 *   { mode: "sim" },
 * );
 * console.log(errors[0].startsWith("big: guest.ram")); // true
 * ```
 * @module
 */
import type { Scenario } from "../contract/types.ts";
import { resolveScenario } from "../scenario/validate.ts";

/** One case of a group: a label and the scenario it runs. */
export interface GroupCase {
  /** Names the case in reports; unique within the group. */
  label: string;
  /** The scenario the case runs, with the case's changes applied. */
  scenario: Scenario;
}

/** A group, expanded into its cases. */
export interface Group {
  /** The group's name (letters, digits, ".", "_" and "-"); the file's base name when not given. */
  name: string;
  /** One line on what the group compares; "" when not given. */
  description: string;
  /** The file it came from. */
  path: string;
  /** The group's preferred mode (the CLI's --mode overrides it). */
  mode?: "real" | "sim";
  /** Runs per case, a whole number >= 1 (default 1; the CLI's --repeat overrides it). */
  repeat: number;
  /** The cases, in the order they run and are reported. */
  cases: GroupCase[];
}

/**
 * Validates every case's scenario as it would run (with the mode and seed
 * overrides); returns every error, each prefixed with the case's label.
 */
export function validateCases(
  cases: GroupCase[],
  overrides: { mode?: "real" | "sim"; seed?: number },
): string[] {
  const errors: string[] = [];
  for (const c of cases) {
    const { errors: errs } = resolveScenario(c.scenario, overrides);
    errors.push(...errs.map((e) => `${c.label}: ${e}`));
  }
  return errors;
}
