/**
 * A small seeded PRNG (xoshiro128**), whose whole state is four 32-bit words,
 * so that it can be saved into device state and resumed elsewhere.
 *
 * @example
 * ```ts
 * import { Prng } from "./prng.ts";
 * const a = new Prng(42);
 * const b = Prng.fromState(a.state());
 * console.log(a.nextU32() === b.nextU32()); // true
 * ```
 * @module
 */

/** A seeded, serialisable pseudo-random number generator. */
export class Prng {
  #s: Uint32Array;

  /** Seeds the generator from a number (any integer up to 2^53). */
  constructor(seed: number) {
    this.#s = new Uint32Array(4);
    let x = (seed >>> 0) ^ Math.floor(seed / 2 ** 32) * 0x9e3779b1;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }

  /** Rebuilds a generator from a saved state. Throws RangeError on a malformed state. */
  static fromState(state: ArrayLike<number>): Prng {
    if (state.length !== 4) throw new RangeError(`PRNG state must be 4 words, got ${state.length}`);
    const p = new Prng(0);
    for (let i = 0; i < 4; i++) p.#s[i] = state[i] >>> 0;
    if ((p.#s[0] | p.#s[1] | p.#s[2] | p.#s[3]) === 0) {
      throw new RangeError("PRNG state must not be all zero");
    }
    return p;
  }

  /** The state as four numbers. */
  state(): number[] {
    return Array.from(this.#s);
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** An integer in [0, n) for n up to 2^32. */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** A fresh generator derived from this one (for independent streams). */
  fork(): Prng {
    return new Prng(this.nextU32() * 65536 + (this.nextU32() & 0xffff));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
