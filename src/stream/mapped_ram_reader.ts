/**
 * Reads a mapped-ram file (layout in mapped_ram_format.ts), treating it as
 * hostile: {@link openMappedRamFile} checks the header and its checksum,
 * recomputes every region's offset from the block list and refuses a file
 * whose offsets differ, checks the file's size to the byte (a file cut short
 * is refused), the end record, and the end checksum over the header, the
 * bitmaps, the CRC tables and the device state, all before a page is read.
 * {@link loadMappedRamPages} then reads the pages present, straight into the
 * guest's RAM, and checks each page's CRC-32: a flipped byte is refused,
 * naming its block and page. A caller loads into a fresh guest and discards
 * it on any error: nothing is ever resumed half-loaded.
 *
 * @example
 * ```ts
 * import { memoryFilePort } from "../net/file_port.ts";
 * import { MappedRamWriter } from "./mapped_ram_writer.ts";
 * import { loadMappedRamPages, openMappedRamFile } from "./mapped_ram_reader.ts";
 * const file = memoryFilePort();
 * const w = await MappedRamWriter.create(file, [{ name: "pc.ram", bytes: 8192 }], { pageSize: 4096 });
 * await w.writePages(0, 0, new Uint8Array(4096).fill(9));
 * await w.finish(new Uint8Array(0));
 * const saved = await openMappedRamFile(file, { pageSize: 4096 });
 * const ram = [new Uint8Array(8192)];
 * await loadMappedRamPages(file, saved, ram);
 * console.log(ram[0][0], ram[0][4096]); // 9 0
 * ```
 * @module
 */
import { crc32 } from "node:zlib";
import type { FilePort } from "../contract/ports.ts";
import { RAM_BYTES_MAX } from "../contract/page.ts";
import {
  BLOCKS_MAX,
  CRC_BYTES,
  DEVICE_BYTES_MAX,
  NAME_LEN_BYTES,
  PAGE_SIZE_BYTES,
  RUN_PAGES_MAX,
} from "./format.ts";
import {
  BLOCK_COUNT_BYTES,
  BLOCK_HEAD_BYTES,
  BLOCK_NAME_BYTES_MAX,
  FILE_DEVICE_HEAD_BYTES,
  FILE_END_BYTES,
  FILE_HEAD_BYTES,
  FLAGS_BYTES,
  MAGIC_BYTES,
  MAPPED_RAM_END_MAGIC,
  MAPPED_RAM_MAGIC,
  MAPPED_RAM_VERSION,
  type MappedRamLayout,
  mappedRamLayout,
  OFFSET_BYTES,
  PAGE_CRC_BYTES,
  VERSION_BYTES,
} from "./mapped_ram_format.ts";

/** A checked mapped-ram file, before its pages are read. */
export interface MappedRamFile {
  layout: MappedRamLayout;
  /** Per block: bit p set when page p is in the file. */
  bitmaps: Uint8Array[];
  /** Per block: CRC-32 of each page in the file. */
  crcs: Uint32Array[];
  /** The device state. */
  device: Uint8Array;
  /** The file's size in bytes. */
  sizeBytes: number;
}

/** Options of {@link openMappedRamFile}. */
export interface OpenMappedRamOptions {
  /** The page size the guest uses; a file of another is refused. */
  pageSize: number;
  /** Largest guest accepted (default the peers' limit). */
  maxRamBytes?: number;
}

function refuse(message: string): RangeError {
  return new RangeError(`Mapped-ram file refused: ${message}`);
}

async function readExactly(file: FilePort, n: number, offset: number, what: string) {
  const out = new Uint8Array(n);
  const got = await file.pread(out, offset);
  if (got !== n) throw refuse(`${what} at offset ${offset} is cut short (${got} of ${n} bytes)`);
  return out;
}

/**
 * Opens and checks a mapped-ram file; throws a RangeError naming what is
 * wrong for any file that is not whole and intact.
 */
export async function openMappedRamFile(
  file: FilePort,
  options: OpenMappedRamOptions,
): Promise<MappedRamFile> {
  const sizeBytes = await file.size();
  if (sizeBytes < FILE_HEAD_BYTES) throw refuse(`it holds ${sizeBytes} bytes, no header`);
  const head = await readExactly(file, FILE_HEAD_BYTES, 0, "the header");
  const hv = new DataView(head.buffer);
  let p = 0;
  const magic = hv.getUint32(p);
  p += MAGIC_BYTES;
  if (magic !== MAPPED_RAM_MAGIC) throw refuse(`bad magic 0x${magic.toString(16)}`);
  const version = hv.getUint16(p);
  p += VERSION_BYTES;
  if (version !== MAPPED_RAM_VERSION) throw refuse(`version ${version} is not supported`);
  const flags = hv.getUint16(p);
  p += FLAGS_BYTES;
  if (flags !== 0) throw refuse(`unknown flags 0x${flags.toString(16)}`);
  const pageSize = hv.getUint32(p);
  p += PAGE_SIZE_BYTES;
  if (pageSize !== options.pageSize) {
    throw refuse(`page size ${pageSize}, the guest uses ${options.pageSize}`);
  }
  const blockCount = hv.getUint16(p);
  p += BLOCK_COUNT_BYTES;
  if (blockCount < 1 || blockCount > BLOCKS_MAX) {
    throw refuse(`${blockCount} blocks (1..${BLOCKS_MAX})`);
  }
  const endOffset = Number(hv.getBigUint64(p));
  // The whole header is at most this long: read it once, bounded.
  const headMax = Math.min(
    sizeBytes,
    FILE_HEAD_BYTES + blockCount * (BLOCK_HEAD_BYTES + BLOCK_NAME_BYTES_MAX) + CRC_BYTES,
  );
  const all = await readExactly(file, headMax, 0, "the block headers");
  const v = new DataView(all.buffer);
  p = FILE_HEAD_BYTES;
  const given: { name: string; bytes: number; offsets: number[] }[] = [];
  const maxRam = options.maxRamBytes ?? RAM_BYTES_MAX;
  let total = 0;
  const names = new Set<string>();
  for (let i = 0; i < blockCount; i++) {
    if (p + NAME_LEN_BYTES > all.length) throw refuse(`block ${i}'s header is cut short`);
    const len = all[p];
    p += NAME_LEN_BYTES;
    if (len === 0 || p + len + BLOCK_HEAD_BYTES - NAME_LEN_BYTES > all.length) {
      throw refuse(`block ${i}'s header is cut short or its name is empty`);
    }
    let name = "";
    for (let k = 0; k < len; k++) {
      const c = all[p + k];
      if (c < 0x20 || c > 0x7e) throw refuse(`block ${i}'s name is not printable ASCII`);
      name += String.fromCharCode(c);
    }
    p += len;
    if (names.has(name)) throw refuse(`block name "${name}" appears twice`);
    names.add(name);
    const used = Number(v.getBigUint64(p));
    p += OFFSET_BYTES;
    const bps = v.getUint32(p);
    p += PAGE_SIZE_BYTES;
    if (bps !== pageSize) {
      throw refuse(`block "${name}" has page size ${bps}, the file ${pageSize}`);
    }
    if (!(used > 0) || used % pageSize !== 0 || used > maxRam - total) {
      throw refuse(
        `block "${name}" is ${used} bytes: not a positive multiple of ${pageSize}, or past ${maxRam} bytes of RAM in all`,
      );
    }
    total += used;
    const offsets = [0, 1, 2].map(() => {
      const o = Number(v.getBigUint64(p));
      p += OFFSET_BYTES;
      return o;
    });
    given.push({ name, bytes: used, offsets });
  }
  const layout = mappedRamLayout(given, pageSize);
  if (p + CRC_BYTES !== layout.headerBytes || p + CRC_BYTES > all.length) {
    throw refuse("the header's length does not match its blocks");
  }
  if (v.getUint32(p) !== crc32(all.subarray(0, p))) throw refuse("the header's checksum differs");
  given.forEach((g, i) => {
    const b = layout.blocks[i];
    const want = [b.bitmapOffset, b.crcOffset, b.pagesOffset];
    if (g.offsets.some((o, k) => o !== want[k])) {
      throw refuse(
        `block "${g.name}" has offsets ${g.offsets.join(", ")}, its layout ${want.join(", ")}`,
      );
    }
  });
  if (endOffset !== layout.endOffset) {
    throw refuse(`end offset ${endOffset}, the layout says ${layout.endOffset}`);
  }
  // The device section and the end record: the file must end exactly after them.
  if (sizeBytes < endOffset + FILE_DEVICE_HEAD_BYTES + FILE_END_BYTES) {
    throw refuse(
      `it is cut short: ${sizeBytes} bytes, the pages alone end at ${endOffset} (no end record)`,
    );
  }
  const dh = await readExactly(file, FILE_DEVICE_HEAD_BYTES, endOffset, "the device section");
  const deviceLen = new DataView(dh.buffer).getUint32(0);
  if (deviceLen > DEVICE_BYTES_MAX) throw refuse(`device state of ${deviceLen} bytes`);
  const endAt = endOffset + FILE_DEVICE_HEAD_BYTES + deviceLen;
  if (sizeBytes !== endAt + FILE_END_BYTES) {
    throw refuse(
      `it is ${sizeBytes} bytes, a whole file is ${
        endAt + FILE_END_BYTES
      } (cut short, or trailing bytes)`,
    );
  }
  const device = await readExactly(file, deviceLen, endOffset + FILE_DEVICE_HEAD_BYTES, "device");
  const end = await readExactly(file, FILE_END_BYTES, endAt, "the end record");
  const ev = new DataView(end.buffer);
  if (ev.getUint32(0) !== MAPPED_RAM_END_MAGIC) {
    throw refuse("no end record: the save did not finish");
  }
  let crc = crc32(all.subarray(0, layout.headerBytes));
  const bitmaps: Uint8Array[] = [];
  const crcs: Uint32Array[] = [];
  for (const b of layout.blocks) {
    const bm = await readExactly(file, b.bitmapBytes, b.bitmapOffset, `block "${b.name}"'s bitmap`);
    crc = crc32(bm, crc);
    const table = await readExactly(file, b.crcBytes, b.crcOffset, `block "${b.name}"'s CRCs`);
    crc = crc32(table, crc);
    const tv = new DataView(table.buffer);
    const c = new Uint32Array(b.pages);
    for (let k = 0; k < b.pages; k++) c[k] = tv.getUint32(k * PAGE_CRC_BYTES);
    // Bits past the last page must be clear.
    const spare = b.bitmapBytes * 8 - b.pages;
    if (spare > 0 && (bm[b.bitmapBytes - 1] >> (8 - spare)) !== 0) {
      throw refuse(`block "${b.name}"'s bitmap marks pages past its end`);
    }
    bitmaps.push(bm);
    crcs.push(c);
  }
  crc = crc32(dh, crc);
  crc = crc32(device, crc);
  if (ev.getUint32(MAGIC_BYTES) !== crc) {
    throw refuse("the end checksum differs (header, bitmaps, CRC tables or device state)");
  }
  return { layout, bitmaps, crcs, device, sizeBytes };
}

/**
 * Reads every page `saved` holds into `ram` (one byte array per block, zero
 * filled, laid out as the file's blocks), in runs of consecutive pages, and
 * checks each page's CRC-32. Throws a RangeError naming the first page that
 * differs or is missing; `ram` is then half-written and must be discarded.
 * Resolves with the pages read.
 */
export async function loadMappedRamPages(
  file: FilePort,
  saved: MappedRamFile,
  ram: readonly Uint8Array[],
): Promise<number> {
  const { layout } = saved, ps = layout.pageSize;
  if (ram.length !== layout.blocks.length) {
    throw refuse(`${layout.blocks.length} blocks, the guest has ${ram.length}`);
  }
  let pages = 0;
  for (let i = 0; i < layout.blocks.length; i++) {
    const b = layout.blocks[i], bm = saved.bitmaps[i], crcs = saved.crcs[i], mem = ram[i];
    if (mem.length !== b.usedBytes) {
      throw refuse(`block "${b.name}" is ${b.usedBytes} bytes, the guest's ${mem.length}`);
    }
    let p = 0;
    while (p < b.pages) {
      if (!(bm[p >> 3] & (1 << (p & 7)))) {
        p++;
        continue;
      }
      let n = 1;
      while (p + n < b.pages && n < RUN_PAGES_MAX && (bm[(p + n) >> 3] & (1 << ((p + n) & 7)))) {
        n++;
      }
      const into = mem.subarray(p * ps, (p + n) * ps);
      const got = await file.pread(into, b.pagesOffset + p * ps);
      if (got !== into.length) throw refuse(`block "${b.name}" pages ${p}+${n} are cut short`);
      for (let k = 0; k < n; k++) {
        if (crc32(into.subarray(k * ps, (k + 1) * ps)) !== crcs[p + k]) {
          throw refuse(`block "${b.name}" page ${p + k}: its CRC-32 differs (a corrupted page)`);
        }
      }
      pages += n;
      p += n;
    }
  }
  return pages;
}
