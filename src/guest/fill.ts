/**
 * Initial guest content, from the seed: `zero`, `random` (incompressible,
 * every page distinct) or `compressible` (text-like pages that deflate to
 * about a quarter).
 *
 * Random content comes from xorshift128 seeded from the seed, a word at a
 * time (about 0.5 s per GiB here; AES-CTR through node:crypto took 3.7 s).
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

/** Initial content kinds. */
export type FillKind = "zero" | "random" | "compressible";

const CHUNK = 4 * 1024 * 1024;

/** Fills RAM from the seed. */
export function fillRam(ram: Ram, options: { fill: FillKind; seed: number }): void {
  if (options.fill === "zero") return;
  if (options.fill === "random") {
    const seeder = new Prng(options.seed);
    let x = seeder.nextU32() | 1, y = seeder.nextU32(), z = seeder.nextU32(), v = seeder.nextU32();
    const chunk = new Int32Array(CHUNK / 4);
    for (const b of ram.blocks) {
      const words = new Int32Array(b.sab, 0, b.bytes.length >> 2);
      for (let off = 0; off < words.length; off += chunk.length) {
        const n = Math.min(chunk.length, words.length - off);
        for (let i = 0; i < n; i++) {
          const t = x ^ (x << 11);
          x = y;
          y = z;
          z = v;
          v = v ^ (v >>> 19) ^ (t ^ (t >>> 8));
          chunk[i] = v;
        }
        words.set(n === chunk.length ? chunk : chunk.subarray(0, n), off);
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
