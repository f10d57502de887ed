/**
 * Guest RAM: named blocks backed by SharedArrayBuffer, 4 KiB pages, and one
 * global page numbering across blocks (block order, then page within block).
 *
 * @example
 * ```ts
 * import { createRam } from "./ram.ts";
 * const ram = createRam([{ name: "pc.ram", bytes: 1 << 20 }]);
 * console.log(ram.totalPages); // 256
 * ```
 * @module
 */

import { populateRam } from "./populate.ts";

export { PAGE_SHIFT, PAGE_SIZE, RAM_BYTES_MAX } from "../contract/page.ts";
import { PAGE_SIZE, RAM_BYTES_MAX } from "../contract/page.ts";

/** One RAM block. */
export interface RamBlock {
  /** Index of the block in the layout (its id on the wire). */
  id: number;
  name: string;
  /** Global number of the block's first page. */
  firstPage: number;
  pages: number;
  sab: SharedArrayBuffer;
  bytes: Uint8Array;
}

/** Guest RAM: its blocks and sizes. */
export interface Ram {
  blocks: RamBlock[];
  totalPages: number;
  totalBytes: number;
}

/** A block to create: a name and a size in bytes (a multiple of the page size). */
export interface BlockSpec {
  name: string;
  bytes: number;
}

/**
 * Allocates RAM blocks (zero-filled) or wraps existing SharedArrayBuffers.
 * Throws RangeError for a size that is not a positive multiple of the page size.
 */
export function createRam(specs: BlockSpec[], sabs?: SharedArrayBuffer[]): Ram {
  const blocks: RamBlock[] = [];
  let firstPage = 0;
  specs.forEach((spec, id) => {
    if (!Number.isInteger(spec.bytes) || spec.bytes <= 0 || spec.bytes % PAGE_SIZE !== 0) {
      throw new RangeError(
        `Block "${spec.name}" size ${spec.bytes} is not a positive multiple of ${PAGE_SIZE}`,
      );
    }
    const sab = sabs?.[id] ?? new SharedArrayBuffer(spec.bytes);
    if (sab.byteLength !== spec.bytes) {
      throw new RangeError(
        `Block "${spec.name}" buffer is ${sab.byteLength} bytes, expected ${spec.bytes}`,
      );
    }
    const pages = spec.bytes / PAGE_SIZE;
    blocks.push({ id, name: spec.name, firstPage, pages, sab, bytes: new Uint8Array(sab) });
    firstPage += pages;
  });
  const totalBytes = firstPage * PAGE_SIZE;
  if (totalBytes > RAM_BYTES_MAX) {
    throw new RangeError(`Guest RAM ${totalBytes} bytes exceeds ${RAM_BYTES_MAX}`);
  }
  return { blocks, totalPages: firstPage, totalBytes };
}

/** The block holding global page `page` (binary search over few blocks). */
export function blockOfPage(ram: Ram, page: number): RamBlock {
  const blocks = ram.blocks;
  for (let i = blocks.length - 1; i >= 0; i--) {
    if (page >= blocks[i].firstPage) return blocks[i];
  }
  throw new RangeError(`Page ${page} is outside guest RAM`);
}

/** A human-readable guest address: `pc.ram+0x1000`. */
export function pageAddress(ram: Ram, page: number): string {
  const b = blockOfPage(ram, page);
  return `${b.name}+0x${((page - b.firstPage) * PAGE_SIZE).toString(16)}`;
}

/** Allocates RAM and touches every page, so that loading it costs no page faults (QEMU's -mem-prealloc). */
export function preallocateRam(specs: BlockSpec[]): Ram {
  const ram = createRam(specs);
  for (const b of ram.blocks) new Int32Array(b.sab).fill(0);
  return ram;
}

/**
 * {@link preallocateRam} off the caller's thread: the kernel populates every
 * page on a thread of its own ({@link populateRam}), or, where it cannot, a
 * worker touches them. Either way the page faults of a large guest are taken
 * on another core while the caller goes on (the simulator fills the source
 * guest meanwhile). Resolves once every page is backed.
 */
export async function preallocateRamInBackground(specs: BlockSpec[]): Promise<Ram> {
  const ram = createRam(specs);
  if (await populateRam(ram) === null) return ram;
  const worker = new Worker(new URL("./touch_worker.ts", import.meta.url), { type: "module" });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`The RAM preallocation worker failed: ${e.message}`));
      };
      worker.postMessage(ram.blocks.map((b) => b.sab));
    });
  } finally {
    worker.terminate();
  }
  return ram;
}

/**
 * Checks that an incoming stream's blocks are exactly this RAM's, as QEMU
 * checks block names and lengths; throws RangeError saying both layouts.
 */
export function checkLayout(ram: Ram, blocks: { name: string; pages: number }[]): Ram {
  const have = ram.blocks.map((b) => `${b.name} (${b.pages} pages)`).join(", ");
  const want = blocks.map((b) => `${b.name} (${b.pages} pages)`).join(", ");
  if (have !== want) {
    throw new RangeError(`The stream declares RAM blocks ${want}; this destination has ${have}`);
  }
  return ram;
}
