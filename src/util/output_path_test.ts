import { assertEquals, assertMatch } from "./assert.ts";
import { outputPathProblem } from "./output_path.ts";

Deno.test("output path: a missing folder, a folder, and a writable file", () => {
  const dir = Deno.makeTempDirSync({ prefix: "ferry-out-" });
  try {
    assertMatch(
      outputPathProblem(`${dir}/no/r.json`, "--json")!,
      /--json .*: the folder .* does not exist/,
    );
    assertMatch(outputPathProblem(dir, "--json")!, /is a folder/);
    assertEquals(outputPathProblem(`${dir}/r.json`, "--json"), null);
    // The check leaves nothing behind.
    assertEquals([...Deno.readDirSync(dir)].length, 0);
    Deno.writeTextFileSync(`${dir}/kept.json`, "x");
    assertEquals(outputPathProblem(`${dir}/kept.json`, "--json"), null);
    assertEquals(Deno.readTextFileSync(`${dir}/kept.json`), "x");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
