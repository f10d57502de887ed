/**
 * The one place command lines are parsed, so that a later switch of parser
 * touches one file.
 *
 * @example
 * ```ts
 * import { parseCli } from "./cli.ts";
 * const { values } = parseCli(["--seed", "7"], { seed: { type: "string" } });
 * console.log(values.seed); // "7"
 * ```
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Parses `args` against `options`; positionals are allowed. Throws TypeError on unknown flags. */
export function parseCli<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}
