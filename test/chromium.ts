/**
 * Headless Chromium for tests: find it, run it with the flags the project
 * uses (`--headless --no-sandbox --disable-gpu --disable-background-networking`)
 * and a throwaway profile, and never leave it running.
 *
 * Under CI (`CI` set, as CI systems set it, and as `.ci/run` sets it) a
 * missing browser is a failure; elsewhere the browser checks are ignored,
 * visibly, with the reason.
 *
 * @example
 * ```ts ignore
 * import { chromiumRequired, findChromium, runChromium } from "./chromium.ts";
 * const chromium = await findChromium();
 * if (!chromium && chromiumRequired()) throw new Error("chromium is not installed");
 * if (chromium) console.log(await runChromium(chromium, "file:///srv/report.html", ["--dump-dom"]));
 * ```
 * @module
 */

/**
 * Whether a missing Chromium must fail the tests: under CI, i.e. when the
 * `CI` environment variable is set to anything but "", "0" or "false".
 *
 * @example
 * ```ts
 * import { chromiumRequired } from "./chromium.ts";
 * console.log(typeof chromiumRequired()); // "boolean"
 * ```
 */
export function chromiumRequired(): boolean {
  const ci = (Deno.env.get("CI") ?? "").trim().toLowerCase();
  return ci !== "" && ci !== "0" && ci !== "false";
}

/**
 * The Chromium binary on PATH, or null when it is not installed.
 *
 * @example
 * ```ts ignore
 * import { findChromium } from "./chromium.ts";
 * console.log((await findChromium()) ?? "not installed");
 * ```
 */
export async function findChromium(): Promise<string | null> {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const out = await new Deno.Command("sh", {
        args: ["-c", `command -v ${name}`],
        stdout: "piped",
        stderr: "null",
      })
        .output();
      const path = new TextDecoder().decode(out.stdout).trim();
      if (out.success && path) return path;
    } catch {
      // try the next
    }
  }
  return null;
}

/**
 * Runs Chromium headless on a URL with extra flags; returns stdout. Kills it after `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * import { findChromium, runChromium } from "./chromium.ts";
 * const dom = await runChromium((await findChromium())!, "file:///srv/report.html", ["--dump-dom"]);
 * ```
 */
export async function runChromium(
  binary: string,
  url: string,
  flags: string[],
  timeoutMs = 60_000,
): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "ferry-chromium-" });
  try {
    const child = new Deno.Command(binary, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        ...flags,
        url,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    const out = await child.output();
    clearTimeout(timer);
    if (!out.success) {
      throw new Error(
        `chromium exited with ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
      );
    }
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
