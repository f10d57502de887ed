import { assertEquals, assertOk, assertThrows } from "../util/assert.ts";
import { createRam, PAGE_SIZE } from "../guest/ram.ts";
import { fillRam } from "../guest/fill.ts";
import { Prng } from "../util/prng.ts";
import { compressMethods, decompressPages, PageCompressor } from "./compress.ts";

function compressiblePages(pages: number): Uint8Array {
  const ram = createRam([{ name: "pc.ram", bytes: pages * PAGE_SIZE }]);
  fillRam(ram, { fill: "compressible", seed: 3 });
  return ram.blocks[0].bytes.slice();
}

Deno.test("compress: every method round-trips page batches; compressible pages shrink below half", () => {
  const pages = compressiblePages(64);
  assertOk(compressMethods().includes("deflate"));
  for (const method of compressMethods()) {
    for (const level of [1, 6, 9]) {
      const c = new PageCompressor(method, level);
      const packed = c.compress(pages);
      assertOk(packed.length < pages.length / 2, `${method} ${level}: ${packed.length} bytes`);
      const back = new Uint8Array(pages.length);
      decompressPages(method, packed, back);
      assertEquals(back, pages, `${method} ${level}`);
    }
  }
});

Deno.test("compress: shared guest RAM compresses as it is", () => {
  const ram = createRam([{ name: "pc.ram", bytes: 8 * PAGE_SIZE }]);
  fillRam(ram, { fill: "compressible", seed: 9 });
  const packed = new PageCompressor("deflate", 1).compress(ram.blocks[0].bytes);
  const back = new Uint8Array(8 * PAGE_SIZE);
  decompressPages("deflate", packed, back);
  assertEquals(back, ram.blocks[0].bytes.slice());
});

Deno.test("compress: hostile data is refused with a RangeError: garbage, too long (no bomb), too short", () => {
  for (const method of compressMethods()) {
    const c = new PageCompressor(method, 1);
    const into = new Uint8Array(2 * PAGE_SIZE);
    assertThrows(
      () => decompressPages(method, new Uint8Array([1, 2, 3, 4, 5, 6, 7]), into),
      (e: unknown) => e instanceof RangeError && /data is not valid/.test((e as Error).message),
    );
    // A bomb: 64 MiB of zeros in a few KiB must stop at the target size.
    const bomb = c.compress(new Uint8Array(64 << 20));
    assertOk(bomb.length < 1 << 20);
    assertThrows(
      () => decompressPages(method, bomb, into),
      (e: unknown) =>
        e instanceof RangeError && /inflates to more than 8192 bytes/.test((e as Error).message),
    );
    const short = c.compress(new Uint8Array(PAGE_SIZE).fill(1));
    assertThrows(
      () => decompressPages(method, short, into),
      (e: unknown) =>
        e instanceof RangeError &&
        /inflates to 4096 bytes, expected 8192/.test((e as Error).message),
    );
    const good = c.compress(new Uint8Array(2 * PAGE_SIZE).fill(5));
    assertThrows(
      () => decompressPages(method, good.subarray(0, good.length - 3), into),
      RangeError,
    );
  }
});

Deno.test("compress fuzz: mutated batches never crash and never yield a wrong length", () => {
  const prng = new Prng(11);
  const pages = compressiblePages(4);
  for (const method of compressMethods()) {
    const good = new PageCompressor(method, 1).compress(pages);
    let accepted = 0;
    for (let r = 0; r < 300; r++) {
      const bad = good.slice();
      for (let k = 0; k < 1 + prng.nextInt(4); k++) {
        bad[prng.nextInt(bad.length)] ^= 1 << prng.nextInt(8);
      }
      const into = new Uint8Array(pages.length);
      try {
        decompressPages(method, bad, into);
        accepted++;
      } catch (e) {
        assertOk(e instanceof RangeError, `${method}: a RangeError, got ${e}`);
      }
    }
    // deflate has no checksum: some flips decode to other bytes of the right length (the checker's digests catch those).
    assertOk(accepted < 300, `${method}: accepted ${accepted} of 300`);
  }
});

Deno.test("compress: unknown methods and levels are refused", () => {
  assertThrows(() => new PageCompressor("lz4" as never, 1), /"lz4" is not available/);
  assertThrows(() => new PageCompressor("deflate", 0), /level must be a whole number in 1..9/);
  assertThrows(() => new PageCompressor("deflate", 10), /1..9, got 10/);
});
