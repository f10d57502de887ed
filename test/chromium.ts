/**
 * Headless Chromium for tests: find it, run it with the flags the project
 * uses (`--headless --no-sandbox --disable-gpu --disable-background-networking`)
 * and a throwaway profile, and never leave it running.
 *
 * @example
 * ```ts ignore
 * const chromium = await findChromium();
 * if (chromium) console.log(await dumpDom(chromium, "file:///tmp/report.html"));
 * ```
 * @module
 */

/** The Chromium binary on PATH, or null when it is not installed. */
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

/** Runs Chromium headless on a URL with extra flags; returns stdout. Kills it after `timeoutMs`. */
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
