/**
 * What importing Ferry's public module loads: zx only on demand. The net
 * module imports zx inside the functions that shell out (kernel shaping), so
 * a script that imports `mod.ts`, and every scenario that does not shape the
 * link in the kernel, never loads zx, and `deno doc` of `mod.ts` never reaches
 * its types.
 * @module
 */
import { assertEquals, assertOk } from "../src/util/assert.ts";

const ROOT = new URL("../", import.meta.url);

interface InfoDependency {
  specifier: string;
  code?: { specifier: string };
  type?: { specifier: string };
  isDynamic?: boolean;
}

interface Info {
  roots: string[];
  modules: { specifier: string; dependencies?: InfoDependency[] }[];
}

/** `deno info --json` of a module of this checkout. */
async function moduleGraph(path: string): Promise<Info> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(path, ROOT).pathname],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assertEquals(out.code, 0, dec.decode(out.stderr));
  return JSON.parse(dec.decode(out.stdout));
}

Deno.test("mod.ts reaches zx only through a dynamic import, on the first shell step", async () => {
  const info = await moduleGraph("mod.ts");
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const isZx = (d: InfoDependency) =>
    d.specifier === "zx" ||
    [d.code?.specifier, d.type?.specifier].some((s) => s?.includes("/node_modules/zx/"));
  const seen = new Set<string>();
  const stack = [...info.roots];
  const staticZx: string[] = [];
  const dynamicZx: string[] = [];
  while (stack.length > 0) {
    const url = stack.pop()!;
    if (seen.has(url)) continue;
    seen.add(url);
    for (const d of modules.get(url)?.dependencies ?? []) {
      if (d.isDynamic) {
        if (isZx(d)) dynamicZx.push(url);
        continue;
      }
      if (isZx(d)) staticZx.push(`${url} imports ${d.specifier}`);
      for (const s of [d.code?.specifier, d.type?.specifier]) if (s) stack.push(s);
    }
  }
  const netns = new URL("src/net/netns.ts", ROOT).href;
  assertOk(seen.has(netns), `the walk reached ${netns} (${seen.size} modules)`);
  assertEquals(staticZx, [], "static imports of zx");
  // The modules that shell out: kernel shaping, and peers placed on other hosts.
  const launcher = new URL("src/scenario/peer_launcher.ts", ROOT).href;
  assertEquals(dynamicZx.sort(), [netns, launcher].sort(), "where zx is imported on demand");
});
