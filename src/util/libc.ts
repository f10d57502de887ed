/**
 * The few libc calls Ferry makes through FFI, opened once: `setsockopt`
 * (bounding a socket's kernel buffer) and `madvise` (backing guest RAM before
 * it is used; nonblocking, so each call runs on a thread of its own). Linux
 * with glibc only; needs `--allow-ffi`. Whatever is missing comes back as a
 * reason, never as an exception.
 *
 * @example
 * ```ts
 * import { libc } from "./libc.ts";
 * const lib = libc();
 * console.log(typeof lib === "string" ? `no libc: ${lib}` : "libc is open");
 * ```
 * @module
 */

const SYMBOLS = {
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32", nonblocking: true },
} as const;

/** libc, as Ferry uses it. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let opened: Libc | string | null = null;

/** libc's symbols, or why they cannot be had here (not Linux, no FFI permission, no glibc). */
export function libc(): Libc | string {
  if (opened !== null) return opened;
  if (Deno.build.os !== "linux") return opened = "libc calls need Linux";
  try {
    opened = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (e) {
    opened = `libc could not be opened: ${(e as Error).message}`;
  }
  return opened;
}
