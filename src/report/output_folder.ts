/**
 * Checks, before a command runs, that a folder it will write reports into
 * can be written: it is a folder that lets a report be written, or it does
 * not exist yet and its parent folder does (the command then creates it,
 * the last level only, so that a mistyped path fails at once).
 *
 * @example
 * ```ts
 * import { outputFolderProblem } from "./output_folder.ts";
 * console.log(outputFolderProblem("/no/such/folder/out", "--out"));
 * // --out /no/such/folder/out: the folder /no/such/folder does not exist
 * ```
 * @module
 */
import { outputPathProblem } from "../util/output_path.ts";

/**
 * Why reports cannot be written into `dir` (a sentence naming `flag`), or
 * null when they can. `options.probe` is the file the check tries (default
 * `report.md`); nothing is left behind.
 */
export function outputFolderProblem(
  dir: string,
  flag: string,
  options: { probe?: string } = {},
): string | null {
  if (dir === "") return `${flag}: an empty path`;
  const path = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
  let st: Deno.FileInfo | null = null;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return `${flag} ${dir}: ${(e as Error).message}`;
  }
  if (st && !st.isDirectory) return `${flag} ${dir}: is a file, not a folder`;
  if (st) return outputPathProblem(`${path}/${options.probe ?? "report.md"}`, flag);
  // Not there yet: can it be made in its parent?
  return outputPathProblem(path, flag);
}
