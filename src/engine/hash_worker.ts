/**
 * A hashing worker (hash_workers.ts): SHA-256 of guest pages, read from the
 * guest's shared RAM, written into the shared digest table (32 bytes per
 * global page).
 *
 * Messages: `{ blocks, digests }` once (the RAM blocks' buffers and first
 * pages, the digest table), then `{ id, pages }` (global page numbers);
 * it answers `{ id }` when every page's digest is in the table.
 * @module
 */
import { sha256Into } from "./sha256.ts";

const PAGE = 4096;
let blocks: { bytes: Uint8Array; firstPage: number; pages: number }[] = [];
let digests = new Uint8Array(0);

self.onmessage = (e: MessageEvent) => {
  const m = e.data;
  if (m.blocks) {
    blocks = m.blocks.map((b: { sab: SharedArrayBuffer; firstPage: number; pages: number }) => ({
      bytes: new Uint8Array(b.sab),
      firstPage: b.firstPage,
      pages: b.pages,
    }));
    digests = new Uint8Array(m.digests);
    return;
  }
  const pages: Uint32Array = m.pages;
  let bi = 0;
  for (const g of pages) {
    while (bi > 0 && g < blocks[bi].firstPage) bi--;
    while (g >= blocks[bi].firstPage + blocks[bi].pages) bi++;
    const b = blocks[bi];
    const off = (g - b.firstPage) * PAGE;
    sha256Into(b.bytes.subarray(off, off + PAGE), digests, g * 32);
  }
  self.postMessage({ id: m.id });
};
