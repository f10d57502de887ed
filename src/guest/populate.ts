/**
 * Backs guest RAM with memory before it is used, as QEMU's `-mem-prealloc`
 * does, by asking the kernel for every page at once: Linux's
 * `madvise(MADV_POPULATE_WRITE)` (5.14 and later) through FFI. Each block's
 * call runs on a thread of its own, so two guests (the simulator's source and
 * destination) populate on two cores while the caller waits on neither.
 *
 * Why: on this lab's VM a first touch costs 0.7-1.3 s per GiB from a loop in
 * JavaScript, 0.5 s per GiB this way, and two GiB populate in 0.5 to 1 s on
 * two threads. The content of a page already there is left as it is.
 *
 * @example
 * ```ts
 * import { createRam } from "./ram.ts";
 * import { populateRam } from "./populate.ts";
 * const ram = createRam([{ name: "pc.ram", bytes: 1 << 20 }]);
 * const why = await populateRam(ram);
 * console.log(why ?? "every page is backed");
 * ```
 * @module
 */
import { libc } from "../util/libc.ts";

const MADV_POPULATE_WRITE = 23;
const HOST_PAGE = 4096n;

/**
 * Populates every whole host page of every block of `ram` (a block's first
 * and last partial pages, if its buffer is not page-aligned, are left to
 * fault as usual). Resolves null when done, or why it could not be done
 * (not Linux, no FFI permission, a kernel before 5.14); never rejects.
 */
export async function populateRam(
  ram: { blocks: readonly { name: string; bytes: Uint8Array }[] },
): Promise<string | null> {
  const lib = libc();
  if (typeof lib === "string") return lib;
  try {
    const calls = ram.blocks.map((b) => {
      const start = Deno.UnsafePointer.value(Deno.UnsafePointer.of(b.bytes)) as bigint;
      const aligned = (start + HOST_PAGE - 1n) & ~(HOST_PAGE - 1n);
      const length = (BigInt(b.bytes.length) - (aligned - start)) & ~(HOST_PAGE - 1n);
      if (length <= 0n) return Promise.resolve(0);
      return lib.madvise(Deno.UnsafePointer.create(aligned), length, MADV_POPULATE_WRITE);
    });
    const codes = await Promise.all(calls);
    const failed = codes.findIndex((rc) => rc !== 0);
    return failed < 0
      ? null
      : `madvise(MADV_POPULATE_WRITE) failed on block "${
        ram.blocks[failed].name
      }" (a kernel before 5.14 does not know it)`;
  } catch (e) {
    return (e as Error).message;
  }
}
