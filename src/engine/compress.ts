/**
 * Page compression: a run of consecutive guest pages compressed together with
 * deflate (raw, RFC 1951) or zstd (a zstd frame), using node:zlib's
 * synchronous API. The method is negotiated in the setup section's
 * parameters (`compressMethod`); each batch travels in one record:
 *
 * ```
 * kind 4 (DEFLATE) payload := count:u16 len:u32 data:u8[len]
 *   count  1..256 consecutive pages from the record's address
 *   data   the count * 4096 page bytes, compressed with the negotiated method
 *   len    1 .. count * 4096 - 1 (a batch that does not shrink goes as NORMAL)
 * ```
 *
 * The destination inflates into a bounded buffer (at most count * 4096
 * bytes: no decompression bomb) and refuses data that is not exactly count
 * pages or not a valid stream of the method. Bytes after the end of a deflate
 * stream are ignored by node:zlib; they cannot change a page.
 *
 * zstd is offered when this Deno's node:zlib has it ({@link compressMethods}).
 *
 * @example
 * ```ts
 * import { decompressPages, PageCompressor } from "./compress.ts";
 * const pages = new Uint8Array(8192).fill(97);
 * const packed = new PageCompressor("deflate", 1).compress(pages);
 * const back = new Uint8Array(8192);
 * decompressPages("deflate", packed, back);
 * console.log(packed.length < 100, back[8191]); // true 97
 * ```
 * @module
 */
import * as zlib from "node:zlib";

/** Compression methods Ferry knows. */
export type CompressMethod = "deflate" | "zstd";

/** Pages in one compressed batch at most (256 KiB: long enough for the 32 KiB deflate window, short enough to pipeline). */
export const COMPRESS_BATCH_PAGES = 64;

// deno-lint-ignore no-explicit-any
const z = zlib as any;
const HAS_ZSTD = typeof z.zstdCompressSync === "function" &&
  typeof z.zstdDecompressSync === "function";

/** The methods this runtime offers: deflate always, zstd when node:zlib has it. */
export function compressMethods(): CompressMethod[] {
  return HAS_ZSTD ? ["deflate", "zstd"] : ["deflate"];
}

/** Compresses page batches with one method and level. */
export class PageCompressor {
  readonly method: CompressMethod;
  readonly level: number;
  #options: Record<string, unknown>;

  /** `level`: 1..9 (deflate's levels; zstd takes the same number on its 1..22 scale). */
  constructor(method: CompressMethod, level: number) {
    if (!compressMethods().includes(method)) {
      throw new RangeError(
        `Compression method "${method}" is not available (available: ${
          compressMethods().join(", ")
        })`,
      );
    }
    if (!Number.isInteger(level) || level < 1 || level > 9) {
      throw new RangeError(`Compression level must be a whole number in 1..9, got ${level}`);
    }
    this.method = method;
    this.level = level;
    this.#options = method === "zstd"
      ? { params: { [z.constants.ZSTD_c_compressionLevel]: level } }
      : { level };
  }

  /** Compresses `pages` (any bytes; callers pass whole pages) and returns the compressed bytes. */
  compress(pages: Uint8Array): Uint8Array {
    return this.method === "zstd"
      ? z.zstdCompressSync(pages, this.#options)
      : zlib.deflateRawSync(pages, this.#options);
  }
}

/**
 * Decompresses `data` into `into`, which must come out exactly `into.length`
 * bytes long. Throws a RangeError saying what was wrong (not valid data for
 * the method, too long, too short); `into` may be partly written on error.
 */
export function decompressPages(method: CompressMethod, data: Uint8Array, into: Uint8Array): void {
  const expected = into.length;
  let out: Uint8Array;
  try {
    // One output chunk of the expected size: node:zlib's default 16 KiB chunks cost a third of inflate's speed.
    out = method === "zstd"
      ? z.zstdDecompressSync(data, { maxOutputLength: expected })
      : zlib.inflateRawSync(data, {
        maxOutputLength: expected,
        chunkSize: Math.max(64, expected),
      });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === "ERR_BUFFER_TOO_LARGE") {
      throw new RangeError(`${method} data inflates to more than ${expected} bytes`);
    }
    throw new RangeError(`${method} data is not valid: ${err.message}`);
  }
  if (out.length !== expected) {
    throw new RangeError(`${method} data inflates to ${out.length} bytes, expected ${expected}`);
  }
  into.set(out);
}
