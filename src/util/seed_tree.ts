/**
 * A seed tree: one root seed, and a stream for each consumer forked by name,
 * so that adding a consumer changes no other stream (TigerBeetle's way). The
 * root is a whole number or any text (a 40-hex-digit commit works); every
 * node is 64 bits, mixed with SplitMix64, so no two names collide in
 * practice and no float rounding merges seeds past 2^53.
 *
 * @example
 * ```ts
 * import { SeedTree } from "./seed_tree.ts";
 * const root = SeedTree.from(42);
 * const fill = root.fork("fill").prng();
 * const link = root.fork("link").seed(); // a whole number below 2^53
 * console.log(fill.nextU32() >= 0, Number.isSafeInteger(link)); // true true
 * ```
 * @module
 */
import { Prng } from "./prng.ts";

const MASK64 = (1n << 64n) - 1n;

/** One node of the tree: 64 bits of state. */
export class SeedTree {
  readonly #state: bigint;

  private constructor(state: bigint) {
    this.#state = state & MASK64;
  }

  /**
   * The root for a seed: a safe whole number (as scenarios write it) or text
   * (hashed whole, so "deadbeef…" of 40 digits keeps all its bits). Throws
   * RangeError for a number that is not a safe whole number.
   */
  static from(seed: number | string): SeedTree {
    if (typeof seed === "number") {
      if (!Number.isSafeInteger(seed)) {
        throw new RangeError(`a seed must be a whole number below 2^53, got ${seed}`);
      }
      return new SeedTree(mix(BigInt.asUintN(64, BigInt(seed))));
    }
    return new SeedTree(mix(hashText(seed)));
  }

  /** The child stream called `name`; the same name always gives the same child. */
  fork(name: string): SeedTree {
    return new SeedTree(mix(this.#state ^ hashText(name)));
  }

  /** A whole number below 2^53 for consumers that take a numeric seed. */
  seed(): number {
    return Number(this.#state >> 11n);
  }

  /** A generator seeded from this node. */
  prng(): Prng {
    return new Prng(this.seed());
  }

  /** The node as 16 hex digits (for logs and replay lines). */
  toString(): string {
    return this.#state.toString(16).padStart(16, "0");
  }
}

/** SplitMix64's finaliser. */
function mix(x: bigint): bigint {
  let z = (x + 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** FNV-1a over the text's UTF-8 bytes, 64 bits. */
function hashText(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(text)) {
    h = ((h ^ BigInt(b)) * 0x100000001b3n) & MASK64;
  }
  return h;
}
