/**
 * Writes a mapped-ram file (layout in mapped_ram_format.ts and
 * docs/stream.md): the header first, then pages at their fixed offsets as
 * they come (a page written again overwrites itself), and at the end the
 * bitmaps, the per-page CRC tables, the device state and, last, the end
 * record. Until {@link MappedRamWriter.finish} has written the end record the
 * file is not valid, and a reader refuses it.
 *
 * The bitmap and the CRC tables live in memory while the file is written (a
 * bit and four bytes per page) and go to the file once, at the end, as QEMU
 * writes its shadow bitmap.
 *
 * @example
 * ```ts
 * import { memoryFilePort } from "../net/file_port.ts";
 * import { MappedRamWriter } from "./mapped_ram_writer.ts";
 * const file = memoryFilePort();
 * const w = await MappedRamWriter.create(file, [{ name: "pc.ram", bytes: 8192 }], { pageSize: 4096 });
 * await w.writePages(0, 1, new Uint8Array(4096).fill(7));
 * await w.finish(new Uint8Array([1, 2]));
 * console.log(w.pagesWritten, await file.size() > 8192); // 1 true
 * ```
 * @module
 */
import { crc32 } from "node:zlib";
import type { FilePort } from "../contract/ports.ts";
import { NAME_LEN_BYTES, PAGE_SIZE_BYTES } from "./format.ts";
import {
  BLOCK_COUNT_BYTES,
  FILE_DEVICE_HEAD_BYTES,
  FILE_END_BYTES,
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

/** Options of {@link MappedRamWriter.create}. */
export interface MappedRamWriterOptions {
  /** The guest's page size. */
  pageSize: number;
}

/** Encodes the header of `layout`, its checksum included. */
export function encodeMappedRamHeader(layout: MappedRamLayout): Uint8Array {
  const out = new Uint8Array(layout.headerBytes);
  const v = new DataView(out.buffer);
  let p = 0;
  const u64 = (n: number) => {
    v.setBigUint64(p, BigInt(n));
    p += OFFSET_BYTES;
  };
  v.setUint32(p, MAPPED_RAM_MAGIC), p += MAGIC_BYTES;
  v.setUint16(p, MAPPED_RAM_VERSION), p += VERSION_BYTES;
  v.setUint16(p, 0), p += FLAGS_BYTES;
  v.setUint32(p, layout.pageSize), p += PAGE_SIZE_BYTES;
  v.setUint16(p, layout.blocks.length), p += BLOCK_COUNT_BYTES;
  u64(layout.endOffset);
  for (const b of layout.blocks) {
    out[p] = b.name.length, p += NAME_LEN_BYTES;
    for (let i = 0; i < b.name.length; i++) out[p++] = b.name.charCodeAt(i);
    u64(b.usedBytes);
    v.setUint32(p, layout.pageSize), p += PAGE_SIZE_BYTES;
    u64(b.bitmapOffset);
    u64(b.crcOffset);
    u64(b.pagesOffset);
  }
  v.setUint32(p, crc32(out.subarray(0, p)));
  return out;
}

/** Writes one mapped-ram file. */
export class MappedRamWriter {
  /** Where everything is. */
  readonly layout: MappedRamLayout;
  /** Per block: bit p set when page p is in the file. */
  readonly bitmaps: Uint8Array[];
  /** Per block: CRC-32 of each page in the file. */
  readonly crcs: Uint32Array[];
  /** Bytes written to the file, rewrites and metadata included. */
  writtenBytes = 0;
  /** Page writes (a page written five times counts five). */
  pagesWritten = 0;
  /** Page writes that overwrote a copy already in the file. */
  pagesRewritten = 0;
  #file: FilePort;
  #header: Uint8Array;
  #ever: Uint8Array[];
  #finished = false;

  private constructor(file: FilePort, layout: MappedRamLayout, header: Uint8Array) {
    this.#file = file;
    this.layout = layout;
    this.#header = header;
    this.bitmaps = layout.blocks.map((b) => new Uint8Array(b.bitmapBytes));
    this.#ever = layout.blocks.map((b) => new Uint8Array(b.bitmapBytes));
    this.crcs = layout.blocks.map((b) => new Uint32Array(b.pages));
  }

  /**
   * Empties `file`, writes the header of a file holding `blocks` and returns
   * the writer. The file is not valid until {@link finish}.
   */
  static async create(
    file: FilePort,
    blocks: readonly { name: string; bytes: number }[],
    options: MappedRamWriterOptions,
  ): Promise<MappedRamWriter> {
    const layout = mappedRamLayout(blocks, options.pageSize);
    const header = encodeMappedRamHeader(layout);
    await file.truncate(0);
    const w = new MappedRamWriter(file, layout, header);
    await file.pwrite(header, 0);
    w.writtenBytes += header.length;
    return w;
  }

  /**
   * Writes `data` (whole pages) as block `block`'s pages from `firstPage`,
   * in place; `crcs` are their CRC-32s when the caller has them.
   */
  async writePages(
    block: number,
    firstPage: number,
    data: Uint8Array,
    crcs?: ArrayLike<number>,
  ): Promise<void> {
    const b = this.layout.blocks[block], ps = this.layout.pageSize;
    const count = data.length / ps;
    if (!b || !Number.isInteger(count) || firstPage < 0 || firstPage + count > b.pages) {
      throw new RangeError(
        `Pages ${firstPage}+${count} of block ${block} are outside the file's layout`,
      );
    }
    await this.#file.pwrite(data, b.pagesOffset + firstPage * ps);
    this.writtenBytes += data.length;
    const bm = this.bitmaps[block], ever = this.#ever[block], crc = this.crcs[block];
    for (let k = 0; k < count; k++) {
      const p = firstPage + k, byte = p >> 3, bit = 1 << (p & 7);
      if (ever[byte] & bit) this.pagesRewritten++;
      ever[byte] |= bit;
      bm[byte] |= bit;
      crc[p] = crcs ? crcs[k] : crc32(data.subarray(k * ps, (k + 1) * ps));
    }
    this.pagesWritten += count;
  }

  /** Marks block `block`'s page `page` as zero: it is not in the file, and restores as zero. */
  zeroPage(block: number, page: number): void {
    this.bitmaps[block][page >> 3] &= ~(1 << (page & 7));
  }

  /**
   * Writes the bitmaps, the CRC tables, `device` and the end record, in that
   * order, syncing before the end record: the file is valid once this resolves.
   */
  async finish(device: Uint8Array): Promise<void> {
    if (this.#finished) throw new Error("The mapped-ram file is already finished");
    const f = this.#file;
    let crc = crc32(this.#header);
    for (let i = 0; i < this.layout.blocks.length; i++) {
      const b = this.layout.blocks[i];
      await f.pwrite(this.bitmaps[i], b.bitmapOffset);
      crc = crc32(this.bitmaps[i], crc);
      const table = new Uint8Array(b.crcBytes);
      const v = new DataView(table.buffer);
      const c = this.crcs[i], bm = this.bitmaps[i];
      for (let p = 0; p < b.pages; p++) {
        if (bm[p >> 3] & (1 << (p & 7))) v.setUint32(p * PAGE_CRC_BYTES, c[p]);
      }
      await f.pwrite(table, b.crcOffset);
      crc = crc32(table, crc);
      this.writtenBytes += b.bitmapBytes + b.crcBytes;
    }
    const dev = new Uint8Array(FILE_DEVICE_HEAD_BYTES + device.length);
    new DataView(dev.buffer).setUint32(0, device.length);
    dev.set(device, FILE_DEVICE_HEAD_BYTES);
    await f.pwrite(dev, this.layout.endOffset);
    crc = crc32(dev, crc);
    await f.sync();
    const end = new Uint8Array(FILE_END_BYTES);
    const ev = new DataView(end.buffer);
    ev.setUint32(0, MAPPED_RAM_END_MAGIC);
    ev.setUint32(MAGIC_BYTES, crc);
    await f.pwrite(end, this.layout.endOffset + dev.length);
    await f.sync();
    this.writtenBytes += dev.length + end.length;
    this.#finished = true;
  }

  /** The file's size once finished with `deviceBytes` of device state. */
  sizeWith(deviceBytes: number): number {
    return this.layout.endOffset + FILE_DEVICE_HEAD_BYTES + deviceBytes + FILE_END_BYTES;
  }
}
