/**
 * Checks, before a run starts, that a file the run will write can be written:
 * its folder exists and is a folder, and the path is not a folder itself. A
 * run that can only fail at its end should fail at its start.
 *
 * @example
 * ```ts
 * import { outputPathProblem } from "./output_path.ts";
 * console.log(outputPathProblem("/no/such/folder/result.json", "--json"));
 * // --json /no/such/folder/result.json: the folder /no/such/folder does not exist
 * ```
 * @module
 */

/** Why `path` cannot be written (a sentence naming `flag`), or null when it can. */
export function outputPathProblem(path: string, flag: string): string | null {
  const where = `${flag} ${path}`;
  if (path === "") return `${flag}: an empty path`;
  try {
    if (Deno.statSync(path).isDirectory) return `${where}: is a folder, not a file`;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return `${where}: ${(e as Error).message}`;
  }
  const slash = path.lastIndexOf("/");
  const folder = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  try {
    const st = Deno.statSync(folder);
    if (!st.isDirectory) return `${where}: ${folder} is not a folder`;
  } catch {
    return `${where}: the folder ${folder} does not exist`;
  }
  try {
    // Opening for append creates nothing new when the file exists and tells
    // whether the folder and the file allow writing.
    const existed = exists(path);
    Deno.openSync(path, { write: true, create: true, append: true }).close();
    if (!existed) Deno.removeSync(path);
  } catch (e) {
    return `${where}: cannot be written (${(e as Error).message})`;
  }
  return null;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
