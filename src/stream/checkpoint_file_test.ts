import { assertEquals, assertMatch } from "../util/assert.ts";
import {
  checkpointExtents,
  CheckpointFileError,
  ferryCheckpointHeader,
  fileAccess,
  memoryAccess,
} from "./checkpoint_file.ts";
import { elfCore } from "./elf_core_test_util.ts";

const P = 4096;

/** What `f` threw (it must throw). */
function thrown(f: () => unknown, what = ""): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error(`did not throw ${what}`);
}
const ranges = () => [new Uint8Array(3 * P).fill(1), new Uint8Array(2 * P).fill(2)];

Deno.test("checkpoint file: ELF cores of both classes and both byte orders give their PT_LOAD pages", () => {
  for (const class64 of [true, false]) {
    for (const littleEndian of [true, false]) {
      const file = elfCore({ class64, littleEndian, ranges: ranges() });
      const { extents, pages } = checkpointExtents(memoryAccess(file), "elf");
      assertEquals(pages, 5, `class64 ${class64} le ${littleEndian}`);
      assertEquals(extents.map((e) => e.pages), [3, 2]);
      assertEquals(file[extents[1].offset], 2);
    }
  }
});

Deno.test("checkpoint file: PN_XNUM takes the program header count from section header 0", () => {
  const file = elfCore({ ranges: ranges(), xnum: true });
  assertEquals(checkpointExtents(memoryAccess(file), "elf").pages, 5);
});

Deno.test("checkpoint file: a bad ELF or Ferry file is a clear error, never a crash", () => {
  const good = elfCore({ ranges: ranges() });
  const cases: [string, Uint8Array, "elf" | "ferry", RegExp][] = [
    ["empty", new Uint8Array(0), "elf", /not an ELF file: 0 bytes/],
    ["bad magic", good.slice().fill(0, 0, 4), "elf", /bad magic/],
    [
      "bad class",
      (() => {
        const f = good.slice();
        f[4] = 3;
        return f;
      })(),
      "elf",
      /ELF class 3/,
    ],
    [
      "bad byte order",
      (() => {
        const f = good.slice();
        f[5] = 0;
        return f;
      })(),
      "elf",
      /byte order 0/,
    ],
    ["truncated", good.subarray(0, good.length - 1), "elf", /ELF file truncated: PT_LOAD 2/],
    ["header only", good.subarray(0, 60), "elf", /shorter than its 64-byte header/],
    ["program headers cut", good.subarray(0, 100), "elf", /program headers .* run past/],
    ["no PT_LOAD", elfCore({ ranges: [] }), "elf", /no PT_LOAD/],
    ["short Ferry", new Uint8Array(100), "ferry", /shorter than its 4096-byte header/],
    ["Ferry magic", new Uint8Array(P), "ferry", /bad magic/],
    [
      "Ferry truncated",
      (() => {
        const f = new Uint8Array(P + P);
        f.set(ferryCheckpointHeader(2));
        return f;
      })(),
      "ferry",
      /Ferry checkpoint truncated: 2 pages need 12288 bytes, the file has 8192/,
    ],
    ["Ferry empty", ferryCheckpointHeader(0), "ferry", /holds no pages/],
  ];
  for (const [name, bytes, format, pattern] of cases) {
    const e = thrown(() => checkpointExtents(memoryAccess(bytes), format), name);
    assertEquals(e instanceof CheckpointFileError, true, `${name}: ${e}`);
    assertMatch((e as Error).message, pattern, name);
  }
});

Deno.test("checkpoint file: a missing file is a clear error", () => {
  const e = thrown(() => fileAccess("no/such/checkpoint.elf"));
  assertMatch((e as Error).message, /cannot open no\/such\/checkpoint.elf/);
});
