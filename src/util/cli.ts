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
import { nearest } from "./nearest.ts";

/**
 * Parses `args` against `options`; positionals are allowed. Throws TypeError
 * on unknown flags ({@link cliErrorLine} words it for people). `tokens`
 * lists every option as given, in order (a repeated option appears twice).
 *
 * @example
 * ```ts
 * import { parseCli } from "./cli.ts";
 * const { tokens } = parseCli(["--seed", "1", "--seed", "2"], { seed: { type: "string" } });
 * console.log(tokens.filter((t) => t.kind === "option").length); // 2
 * ```
 */
export function parseCli<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
) {
  return parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
}

/**
 * One line for people saying what is wrong with a command line that
 * {@link parseCli} refused, naming the option and, for an unknown one, the
 * nearest known option.
 *
 * @example
 * ```ts
 * import { cliErrorLine, parseCli } from "./cli.ts";
 * const options = { json: { type: "string" } } as const;
 * try {
 *   parseCli(["--jsn", "r.json"], options);
 * } catch (e) {
 *   console.log(cliErrorLine(e, options)); // unknown option --jsn (did you mean --json?)
 * }
 * ```
 */
export function cliErrorLine(error: unknown, options: Record<string, unknown>): string {
  const message = error instanceof Error ? error.message : String(error);
  const known = Object.keys(options).map((k) => `--${k}`);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}${nearest(unknown[1], known)}`;
  const missing = /^Option '(-[^' ]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(
    message,
  );
  if (missing) {
    return `${missing[1]} needs a value (one that starts with "-" goes as ${missing[1]}=-VALUE)`;
  }
  const flag = /^Option '(-[^' ]+)' does not take an argument/.exec(message);
  if (flag) return `${flag[1]} takes no value`;
  return message.split("\n")[0];
}
