/**
 * The setup section's parameters: a msgpack map of what the destination must
 * know to read the stream's records (see docs/stream.md). Decoding treats the
 * bytes as hostile: a map of known keys with values of the right shape, or a
 * TypeError/RangeError saying what is wrong.
 *
 * | key | when | value |
 * | --- | --- | --- |
 * | `compressMethod` | capability bit COMPRESS | `"deflate"` or `"zstd"`: how DEFLATE records are compressed |
 *
 * An empty blob (length 0) means no parameters.
 *
 * @example
 * ```ts
 * import { decodeSetupParams, encodeSetupParams } from "./params.ts";
 * const bytes = encodeSetupParams({ compressMethod: "zstd" });
 * console.log(decodeSetupParams(bytes).compressMethod); // "zstd"
 * ```
 * @module
 */
import { Packr } from "msgpackr";
import { checkMsgpackBounds } from "../util/msgpack_bounds.ts";
import { printable } from "../util/printable.ts";

/** The parameters, all optional. */
export interface SetupParams {
  compressMethod?: "deflate" | "zstd";
}

const packr = new Packr({ useRecords: false, moreTypes: false });
const KEYS = new Set(["compressMethod"]);

/** Encodes parameters; no parameters give an empty blob. */
export function encodeSetupParams(params: SetupParams): Uint8Array {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined);
  return entries.length ? packr.pack(Object.fromEntries(entries)) : new Uint8Array(0);
}

/** Decodes and checks parameters; throws TypeError or RangeError naming the problem. */
export function decodeSetupParams(bytes: Uint8Array): SetupParams {
  if (bytes.length === 0) return {};
  let v: unknown;
  try {
    // Bounds first: a declared length past the input costs the decoder seconds (fuzzer's find).
    checkMsgpackBounds(bytes);
    v = packr.unpack(bytes);
  } catch (e) {
    throw new TypeError(
      `Setup parameters are not valid msgpack: ${printable((e as Error).message)}`,
    );
  }
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    throw new TypeError("Setup parameters are not a map");
  }
  for (const k of Object.keys(v)) {
    if (!KEYS.has(k)) throw new RangeError(`Setup parameter "${k}" is unknown to this destination`);
  }
  const p = v as Record<string, unknown>;
  const out: SetupParams = {};
  if (Object.hasOwn(p, "compressMethod")) {
    const m = p.compressMethod;
    if (m !== "deflate" && m !== "zstd") {
      throw new RangeError(
        `Setup parameter compressMethod ${JSON.stringify(m)} is not "deflate" or "zstd"`,
      );
    }
    out.compressMethod = m;
  }
  return out;
}
