import { assertEquals } from "./assert.ts";
import { editDistance, nearest } from "./nearest.ts";

Deno.test("nearest: suggests the closest known name, case ignored", () => {
  assertEquals(
    nearest("downtimeMax", ["downtimeMsMax", "bytesMax"]),
    " (did you mean downtimeMsMax?)",
  );
  assertEquals(
    nearest("capabilites", ["capabilities", "parameters"]),
    " (did you mean capabilities?)",
  );
  assertEquals(nearest("RAM", ["ram", "fill"]), " (did you mean ram?)");
  // Ties go to the first known name.
  assertEquals(nearest("ab", ["ac", "ad"]), " (did you mean ac?)");
});

Deno.test("nearest: lists the known names when none is near, and nothing when none is known", () => {
  assertEquals(nearest("zzzzzz", ["ram", "fill"]), " (known: ram, fill)");
  assertEquals(nearest("x", []), "");
  // Near means at most max(2, a third of the known name's length) edits.
  assertEquals(nearest("abcdefghi", ["abcdefxyz"]), " (did you mean abcdefxyz?)");
  assertEquals(nearest("abcdefghi", ["abcdewxyz"]), " (known: abcdewxyz)");
});

Deno.test("editDistance: insertions, deletions and substitutions cost 1 each", () => {
  assertEquals(editDistance("", ""), 0);
  assertEquals(editDistance("", "abc"), 3);
  assertEquals(editDistance("abc", ""), 3);
  assertEquals(editDistance("kitten", "sitting"), 3);
  assertEquals(editDistance("capabilites", "capabilities"), 1);
});
