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

Deno.test("output path: a writer that creates its folders needs a writable folder as nearest ancestor", () => {
  const dir = Deno.makeTempDirSync({ prefix: "ferry-out-" });
  try {
    // Without the option a missing folder is a problem; with it, it is not, and is not created.
    assertMatch(outputPathProblem(`${dir}/a/b/r.db`, "--db")!, /the folder .*a\/b does not exist/);
    assertEquals(outputPathProblem(`${dir}/a/b/r.db`, "--db", { createsFolders: true }), null);
    assertEquals([...Deno.readDirSync(dir)].length, 0);
    // A file on the way cannot become a folder.
    Deno.writeTextFileSync(`${dir}/file`, "x");
    assertMatch(
      outputPathProblem(`${dir}/file/a/r.db`, "--db", { createsFolders: true })!,
      /^--db .*file\/a\/r\.db: .*file is not a folder$/,
    );
    assertMatch(
      outputPathProblem(`${dir}/file/r.db`, "--db", { createsFolders: true })!,
      /^--db .*file\/r\.db: .*file is not a folder$/,
    );
    assertMatch(outputPathProblem(dir, "--db", { createsFolders: true })!, /is a folder/);
    assertEquals(Deno.readTextFileSync(`${dir}/file`), "x");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["file"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
