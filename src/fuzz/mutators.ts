/**
 * The fuzzer's mutations of a stream, each seeded: bit flips, interesting
 * bytes, fields set to their limits (and past them), truncations, splices of
 * two streams, ranges duplicated, deleted, moved or inserted (records out of
 * grammar order), and huge declared sizes. A mutation of a seed may also be
 * _forged_: its section checksums recomputed (see stream_layout.ts).
 *
 * @example
 * ```ts ignore
 * const m = mutate(prng, parent, corpus);
 * console.log(m.how, m.bytes.length);
 * ```
 * @module
 */
import type { Prng } from "../util/prng.ts";
import { type Field, forgeChecksums, type StreamLayout } from "./stream_layout.ts";
import { BLOCKS_MAX, DEVICE_BYTES_MAX, PARAMS_BYTES_MAX, RUN_PAGES_MAX } from "../stream/format.ts";
import { PAGE_SIZE } from "../guest/ram.ts";

/** A corpus entry: a stream and, for seeds, its layout. */
export interface Entry {
  bytes: Uint8Array;
  /** Indexes of the seeds it descends from (their clean loads are its references). */
  seeds: number[];
  layout: StreamLayout | null;
  /** It, or a stream it descends from, had its section checksums recomputed. */
  forged?: boolean;
}

/** A mutant; its bytes lie in scratch buffers the next {@link mutate} reuses. */
export interface Mutant {
  bytes: Uint8Array;
  /** The mutators applied, as "flip+forge". */
  how: string;
  /** Seeds whose clean load a completed unforged mutant must equal. */
  seeds: number[];
  /** Its section checksums were recomputed. */
  forged: boolean;
  /** Only NORMAL page data (left out of the section checksums) changed. */
  pageDataOnly: boolean;
}

const U32 = [
  0,
  1,
  2,
  7,
  8,
  0x7f,
  0x80,
  0xff,
  0x100,
  0x101,
  PAGE_SIZE - 1,
  PAGE_SIZE,
  PAGE_SIZE + 1,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  DEVICE_BYTES_MAX,
  DEVICE_BYTES_MAX + 1,
  2 ** 28, // a 1 TiB block in pages
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];
const U16 = [
  0,
  1,
  2,
  BLOCKS_MAX - 1,
  BLOCKS_MAX,
  BLOCKS_MAX + 1,
  RUN_PAGES_MAX - 1,
  RUN_PAGES_MAX,
  RUN_PAGES_MAX + 1,
  PAGE_SIZE,
  PAGE_SIZE + 1,
  PARAMS_BYTES_MAX,
  PARAMS_BYTES_MAX + 1,
  0x7fff,
  0x8000,
  0xffff,
];
const U8 = [0, 1, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xff];

/** The mutator names, in the order {@link mutate} draws them. */
export const MUTATORS = [
  "flip",
  "byte",
  "field",
  "truncate",
  "splice",
  "duplicate",
  "delete",
  "move",
  "insert",
  "huge",
] as const;

/**
 * One mutant of `parent` (`corpus` gives splice partners). One to three
 * mutators, then, for a seed mutated in place, a forge with probability 1/2.
 *
 * @example
 * ```ts ignore
 * const m = mutate(new Prng(1), corpus[0], corpus);
 * ```
 */
export function mutate(prng: Prng, parent: Entry, corpus: Entry[]): Mutant {
  const parentLength = Math.min(parent.bytes.length, MUTANT_BYTES_MAX);
  SCRATCH.big[0].set(parent.bytes.subarray(0, parentLength));
  let b: Uint8Array = SCRATCH.big[0].subarray(0, parentLength);
  const seeds = [...parent.seeds];
  let inherited = parent.forged ?? false;
  const hows: string[] = [];
  let inPlace = true;
  let pageDataOnly = true;
  const layout = parent.layout;
  const inPage = (at: number) =>
    layout !== null && layout.pageData.some(([s, e]) => at >= s && at < e);
  const rounds = 1 + prng.nextInt(3);
  for (let k = 0; k < rounds; k++) {
    const m = MUTATORS[prng.nextInt(MUTATORS.length)];
    hows.push(m);
    if (b.length === 0) break;
    switch (m) {
      case "flip": {
        const n = 1 + prng.nextInt(8);
        for (let i = 0; i < n; i++) {
          const at = prng.nextInt(b.length);
          if (!inPage(at)) pageDataOnly = false;
          b[at] ^= 1 << prng.nextInt(8);
        }
        break;
      }
      case "byte": {
        const at = prng.nextInt(b.length);
        if (!inPage(at)) pageDataOnly = false;
        b[at] = U8[prng.nextInt(U8.length)];
        break;
      }
      case "field":
      case "huge": {
        pageDataOnly = false;
        const f = layout ? pickField(prng, layout.fields, m === "huge") : null;
        const at = f ? f.at : prng.nextInt(b.length);
        const width = f ? f.width : ([1, 2, 4] as const)[prng.nextInt(3)];
        if (at + width > b.length) break;
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (width === 1) b[at] = U8[prng.nextInt(U8.length)];
        else if (width === 2) v.setUint16(at, U16[prng.nextInt(U16.length)]);
        else {
          const old = v.getUint32(at);
          const pick = prng.nextInt(4);
          v.setUint32(
            at,
            m === "huge"
              ? [0xffffffff, 0x80000000, 2 ** 28, DEVICE_BYTES_MAX + 1][pick]
              : pick === 0
              ? (old + 1) >>> 0
              : pick === 1
              ? (old - 1) >>> 0
              : U32[prng.nextInt(U32.length)],
          );
        }
        break;
      }
      case "truncate":
        inPlace = pageDataOnly = false;
        b = b.subarray(0, prng.nextInt(b.length));
        break;
      case "splice": {
        inPlace = pageDataOnly = false;
        const other = corpus[prng.nextInt(corpus.length)];
        for (const s of other.seeds) if (!seeds.includes(s)) seeds.push(s);
        if (other.forged) inherited = true;
        const i = cutPoint(prng, b, parent.layout);
        const j = prng.nextFloat() < 0.5 && other.bytes.length > i
          ? i
          : cutPoint(prng, other.bytes, other.layout);
        b = SCRATCH.concat(b, b.subarray(0, i), other.bytes.subarray(j));
        break;
      }
      case "duplicate":
      case "move":
      case "delete":
      case "insert": {
        inPlace = pageDataOnly = false;
        const s = cutPoint(prng, b, parent.layout);
        const len = Math.min(
          b.length - s,
          1 + prng.nextInt(prng.nextFloat() < 0.5 ? 16 : PIECE_BYTES_MAX),
        );
        const piece = SCRATCH.piece.subarray(0, len);
        if (m === "insert") { for (let i = 0; i < len; i++) piece[i] = prng.nextInt(256); }
        else piece.set(b.subarray(s, s + len));
        const rest = m === "duplicate" || m === "insert"
          ? b
          : SCRATCH.concat(b, b.subarray(0, s), b.subarray(s + len));
        if (m === "delete") {
          b = rest;
          break;
        }
        const at = cutPoint(prng, rest, null);
        b = SCRATCH.concat(rest, rest.subarray(0, at), piece, rest.subarray(at));
        break;
      }
    }
  }
  // Forged checksums pass to every descendant: its sections may carry the forger's, not the seed's.
  let forged = inherited;
  if (inPlace && layout && b.length === parent.bytes.length && prng.nextFloat() < 0.5) {
    forgeChecksums(b, layout);
    forged = true;
    hows.push("forge");
  }
  return { bytes: b, how: hows.join("+"), seeds, forged, pageDataOnly: inPlace && pageDataOnly };
}

function pickField(prng: Prng, fields: Field[], huge: boolean): Field {
  if (huge) {
    const sizes = fields.filter((f) =>
      f.width === 4 && /pages|length|page size|count/.test(f.name)
    );
    if (sizes.length) return sizes[prng.nextInt(sizes.length)];
  }
  // Fields other than page CRCs first: they are most of the layout but the least interesting.
  const named = fields.filter((f) => f.name !== "page crc");
  const pool = named.length && prng.nextFloat() < 0.9 ? named : fields;
  return pool[prng.nextInt(pool.length)];
}

/** A cut point: a section boundary of a seed half the time, else anywhere. */
function cutPoint(prng: Prng, b: Uint8Array, layout: StreamLayout | null): number {
  if (layout && prng.nextFloat() < 0.5) {
    const s = layout.sections;
    const at = s[prng.nextInt(s.length)];
    if (at <= b.length) return at;
  }
  return prng.nextInt(b.length + 1);
}

/** The longest mutant, in bytes; a longer one is cut there. */
export const MUTANT_BYTES_MAX = 1 << 20;
/** The longest range a mutator moves or inserts. */
const PIECE_BYTES_MAX = 8192;

/**
 * Buffers every mutant is built in, reused: a million mutants of 100 KiB
 * each, allocated fresh, grew the fuzzer's resident memory past 1 GiB (the
 * collector frees them late). A mutant's bytes are valid until the next
 * {@link mutate}; keep a copy to keep one.
 */
class Scratch {
  readonly big = [new Uint8Array(MUTANT_BYTES_MAX), new Uint8Array(MUTANT_BYTES_MAX)];
  readonly piece = new Uint8Array(PIECE_BYTES_MAX);

  /** `parts` one after another, in the big buffer that `avoid` (where they may lie) is not in. */
  concat(avoid: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    const out = avoid.buffer === this.big[0].buffer ? this.big[1] : this.big[0];
    let o = 0;
    for (const p of parts) {
      const n = Math.min(p.length, out.length - o);
      out.set(p.subarray(0, n), o);
      o += n;
    }
    return out.subarray(0, o);
  }
}
const SCRATCH = new Scratch();
