/**
 * Initial guest content, from the seed: `zero`, `random` (incompressible,
 * every page distinct) or `compressible` (text-like pages that deflate to
 * about a quarter).
 *
 * Random content comes from xorshift128 seeded from the seed, a word at a
 * time, straight into RAM (0.3-0.5 s per GiB of backed pages here, a fifth
 * faster than through a chunk; AES-CTR through node:crypto ran at 0.3 GB/s,
 * ChaCha20 at 1.7 GB/s).
 *
 * @example
 * ```ts
 * import { createRam } from "./ram.ts";
 * import { fillRam } from "./fill.ts";
 * const ram = createRam([{ name: "pc.ram", bytes: 1 << 20 }]);
 * fillRam(ram, { fill: "random", seed: 1 });
 * ```
 * @module
 */
import { PAGE_SIZE, type Ram } from "./ram.ts";
import { Prng } from "../util/prng.ts";

/**
 * Initial content kinds.
 *
 * @example
 * ```ts
 * import type { FillKind } from "./fill.ts";
 * const fill: FillKind = "compressible";
 * ```
 */
export type FillKind = "zero" | "random" | "compressible";

/** Fills RAM from the seed. */
export function fillRam(ram: Ram, options: { fill: FillKind; seed: number }): void {
  if (options.fill === "zero") return;
  if (options.fill === "random") {
    const seeder = new Prng(options.seed);
    let x = seeder.nextU32() | 1, y = seeder.nextU32(), z = seeder.nextU32(), v = seeder.nextU32();
    for (const b of ram.blocks) {
      const words = new Int32Array(b.sab, 0, b.bytes.length >> 2);
      for (let i = 0; i < words.length; i++) {
        const t = x ^ (x << 11);
        x = y;
        y = z;
        z = v;
        v = v ^ (v >>> 19) ^ (t ^ (t >>> 8));
        words[i] = v;
      }
    }
    return;
  }
  // compressible: each page is words from a small per-guest vocabulary with
  // random separators: deflate takes it to roughly 25-35 %.
  const prng = new Prng(options.seed ^ 0x5bd1e995);
  const vocab: Uint8Array[] = [];
  for (let i = 0; i < 64; i++) {
    const len = 3 + prng.nextInt(9);
    const w = new Uint8Array(len);
    for (let k = 0; k < len; k++) w[k] = 97 + prng.nextInt(26);
    vocab.push(w);
  }
  const page = new Uint8Array(PAGE_SIZE);
  for (const b of ram.blocks) {
    for (let p = 0; p < b.pages; p++) {
      let i = 0;
      while (i < PAGE_SIZE) {
        const r = prng.nextU32();
        const w = vocab[r & 63];
        const n = Math.min(w.length, PAGE_SIZE - i);
        page.set(n === w.length ? w : w.subarray(0, n), i);
        i += n;
        if (i < PAGE_SIZE) page[i++] = (r >>> 8) & 1 ? 32 : 48 + ((r >>> 9) & 7);
      }
      b.bytes.set(page, p * PAGE_SIZE);
    }
  }
}
