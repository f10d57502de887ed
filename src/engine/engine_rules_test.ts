/**
 * House rules of the engine, checked on its source text (test files aside):
 * no literal record sizes (they come from src/stream/records.ts and
 * format.ts), nothing of the simulator, and no clock, timer, PRNG or socket
 * of its own.
 * @module
 */
import { assertEquals } from "../util/assert.ts";

const RULES: [RegExp, string][] = [
  [/\b(?:ensure|need)\(\s*\d/, "a literal size given to ensure/need"],
  [/\.free\s*<\s*\d/, "a literal size compared with the buffer's free room"],
  [
    /\b(?:head|pad|len)\s*\+\s*\d|\d\s*\+\s*(?:head|pad|len|packed|device|data)\b/,
    "a literal record size",
  ],
  [/(?:bytes|pages)\[[^\]]*\]\s*\+=\s*\d|\.add\([^)]*,\s*\d+\s*\)/, "a literal size counted"],
  [/from\s+"\.\.\/(?:sim|scenario)\//, "an import of the simulator or the runner"],
  [/\bcpuCostUs\b|\bSimClock\b|\bsimLink/, "a name of the simulator"],
  [
    /\bDate\.now\b|\bsetTimeout\b|\bsetInterval\b|\bMath\.random\b|\bperformance\.now\b/,
    "a clock, timer or PRNG of its own",
  ],
  [/\bDeno\.(?:connect|listen)\b/, "a socket of its own"],
];

/** Every rule broken by `text`, as "file:line: what". */
function brokenRules(file: string, text: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((line, i) => {
    if (/^\s*(?:\*|\/\/)/.test(line)) return; // comments may name anything
    for (const [re, what] of RULES) {
      if (re.test(line)) out.push(`${file}:${i + 1}: ${what}: ${line.trim()}`);
    }
  });
  return out;
}

Deno.test("engine house rules: no literal record sizes, nothing of the simulator, no clock, timer, PRNG or socket of its own", async () => {
  const dir = new URL(".", import.meta.url);
  const broken: string[] = [];
  let files = 0;
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".ts") || e.name.endsWith("_test.ts")) continue;
    files++;
    broken.push(...brokenRules(e.name, await Deno.readTextFile(new URL(e.name, dir))));
  }
  assertEquals(broken, []);
  assertEquals(files >= 15, true, `read ${files} files`);
});
