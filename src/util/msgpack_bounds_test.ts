import { assertThrows } from "./assert.ts";
import { checkMsgpackBounds } from "./msgpack_bounds.ts";
import { printable } from "./printable.ts";
import { assertEquals } from "./assert.ts";
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, moreTypes: false });

Deno.test("msgpack bounds: every value msgpackr writes passes", () => {
  const values = [
    {},
    { compressMethod: "zstd" },
    { version: 1, workload: { prng: [1, 2, 3, 4], touches: 2 ** 40, f: 1.5, n: null, b: true } },
    [new Uint8Array(300), "x".repeat(70_000), -1, -200, -70_000, 2 ** 33, -(2 ** 33)],
    Array.from({ length: 20 }, (_, i) => ({ [`k${i}`]: [i, [i, [i]]] })),
  ];
  for (const v of values) checkMsgpackBounds(packr.pack(v));
});

Deno.test("msgpack bounds: lengths and counts past the input, deep nesting, trailing bytes, 0xc1 are refused", () => {
  const bad = [
    [0xdd, 0x7f, 0xff, 0xff, 0xff], // array32 of 2^31 - 1 items in 0 bytes
    [0xdf, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02], // map32 of 65536 pairs
    [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61], // str32 of 4 GiB
    [0xc6, 0x00, 0x00, 0x10, 0x00], // bin32 of 4096 in 0 bytes
    [0x92, 0x01], // array of 2 with 1
    [0x01, 0x02], // two values
    [0xc1],
    [],
    new Array(40).fill(0x91).concat([0x01]), // 40 levels deep
  ];
  for (const b of bad) assertThrows(() => checkMsgpackBounds(new Uint8Array(b)), RangeError);
});

Deno.test("printable: control characters and long strings are tamed", () => {
  assertEquals(printable("a\u001b[2J\nb"), "a?[2J?b");
  assertEquals(printable("x".repeat(200), 10), `${"x".repeat(10)}…`);
});
