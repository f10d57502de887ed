/**
 * Checks, before a run starts, that a file the run will write can be written:
 * its folder exists and is a folder (or, for a writer that creates its
 * folders, the nearest existing ancestor is a folder that can be written),
 * and the path is not a folder itself. A run that can only fail at its end
 * should fail at its start.
 *
 * @example
 * ```ts
 * import { outputPathProblem } from "./output_path.ts";
 * console.log(outputPathProblem("/no/such/folder/result.json", "--json"));
 * // --json /no/such/folder/result.json: the folder /no/such/folder does not exist
 * ```
 * @module
 */

/**
 * Options of {@link outputPathProblem}.
 *
 * @example
 * ```ts
 * import { type OutputPathOptions, outputPathProblem } from "./output_path.ts";
 * const options: OutputPathOptions = { createsFolders: true };
 * console.log(outputPathProblem(".ferry/results.db", "--db", options)); // null where . can be written
 * ```
 */
export interface OutputPathOptions {
  /**
   * The writer creates missing folders (as the results store does): a
   * missing folder is no problem as long as its nearest existing ancestor is
   * a folder that can be written. Default false.
   */
  createsFolders?: boolean;
}

/**
 * Why `path` cannot be written (a sentence naming `flag`), or null when it
 * can. Leaves nothing behind: a file it creates to try is removed.
 *
 * @example
 * ```ts
 * import { outputPathProblem } from "./output_path.ts";
 * console.log(outputPathProblem("/no/such/results.db", "--db", { createsFolders: true }));
 * // null where / can be written
 * ```
 */
export function outputPathProblem(
  path: string,
  flag: string,
  options: OutputPathOptions = {},
): string | null {
  const where = `${flag} ${path}`;
  if (path === "") return `${flag}: an empty path`;
  try {
    if (Deno.statSync(path).isDirectory) return `${where}: is a folder, not a file`;
  } catch (e) {
    if (!missing(e)) return `${where}: ${(e as Error).message}`;
  }
  const folder = parentOf(path);
  let st: Deno.FileInfo | null = null;
  try {
    st = Deno.statSync(folder);
  } catch (e) {
    if (!missing(e)) return `${where}: ${(e as Error).message}`;
  }
  if (st === null) {
    if (!options.createsFolders) return `${where}: the folder ${folder} does not exist`;
    return ancestorProblem(folder, where);
  }
  if (!st.isDirectory) return `${where}: ${folder} is not a folder`;
  try {
    // Opening for append creates nothing new when the file exists and tells
    // whether the folder and the file allow writing.
    const existed = pathExists(path);
    Deno.openSync(path, { write: true, create: true, append: true }).close();
    if (!existed) Deno.removeSync(path);
  } catch (e) {
    return `${where}: cannot be written (${(e as Error).message})`;
  }
  return null;
}

/** Whether the folders up to `folder` could be created: its nearest existing ancestor is a writable folder. */
function ancestorProblem(folder: string, where: string): string | null {
  let dir = folder;
  for (;;) {
    const up = parentOf(dir);
    try {
      const st = Deno.statSync(up);
      if (!st.isDirectory) return `${where}: ${up} is not a folder`;
      break;
    } catch (e) {
      if (!missing(e)) return `${where}: ${(e as Error).message}`;
      if (up === dir) return `${where}: the folder ${folder} cannot be created`;
      dir = up;
    }
  }
  try {
    // Creating the first missing folder and removing it again tells whether its parent allows it.
    Deno.mkdirSync(dir);
    Deno.removeSync(dir);
  } catch (e) {
    return `${where}: the folder ${folder} cannot be created (${(e as Error).message})`;
  }
  return null;
}

function parentOf(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const slash = trimmed.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : trimmed.slice(0, slash);
}

/** A stat error that means "nothing there": not found, or a file where a folder should be. */
function missing(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
}

/**
 * Whether anything (a file, a folder, a link) is at `path`.
 *
 * @example
 * ```ts
 * import { pathExists } from "./output_path.ts";
 * console.log(pathExists("/")); // true
 * ```
 */
export function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
