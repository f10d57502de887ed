/**
 * Checkpoint files a destination can hold (capability HASH): where their
 * pages are. Two layouts:
 *
 * **Ferry** (a copy of the guest's RAM, taken by the source peer):
 *
 * ```
 * header := magic:u8[8] = "FERRYCKP" version:u32 = 1 pageSize:u32 = 4096 pages:u64
 *           zero:u8[4096 - 24]                  (big-endian; one page, so the data is page-aligned)
 * data   := page:u8[4096]{pages}               (the RAM blocks in order)
 * ```
 *
 * **ELF core**, as QEMU's `dump-guest-memory` writes it: an ELF header,
 * program headers (a PT_NOTE, then one PT_LOAD per guest RAM range: its
 * `p_offset` and `p_filesz` say where the range's bytes are in the file),
 * both classes (ELF32, ELF64) and both byte orders. With more than 0xfffe
 * program headers, `e_phnum` is PN_XNUM and the count is in the first
 * section header's `sh_info`, as the ELF gABI (and QEMU) do it.
 *
 * Both are read through a {@link RandomAccess} and treated as hostile:
 * every offset and length is checked against the file's size, and a
 * missing, short, truncated or malformed file throws a
 * {@link CheckpointFileError} that says what is wrong.
 *
 * @example
 * ```ts
 * import { checkpointExtents, ferryCheckpointHeader, memoryAccess } from "./checkpoint_file.ts";
 * const file = new Uint8Array(4096 * 3);
 * file.set(ferryCheckpointHeader(2));
 * console.log(checkpointExtents(memoryAccess(file), "ferry")); // { extents: [{ offset: 4096, pages: 2 }], pages: 2 }
 * ```
 * @module
 */
import { PAGE_SIZE } from "../contract/page.ts";
import { SUMMARY_ENTRIES_MAX } from "./format.ts";

/**
 * A file read at offsets (a real file, or bytes in memory).
 *
 * @example
 * ```ts
 * import { memoryAccess, type RandomAccess } from "./checkpoint_file.ts";
 * const f: RandomAccess = memoryAccess(new Uint8Array(8));
 * console.log(f.size); // 8
 * ```
 */
export interface RandomAccess {
  /** Bytes in the file. */
  readonly size: number;
  /** Reads up to `into.length` bytes at `offset`; returns how many were read. */
  readAt(offset: number, into: Uint8Array): number;
  /** Releases the file. */
  close(): void;
}

/**
 * A checkpoint that cannot be used, and why.
 *
 * @example
 * ```ts
 * import { CheckpointFileError } from "./checkpoint_file.ts";
 * console.log(new CheckpointFileError("truncated").name); // "CheckpointFileError"
 * ```
 */
export class CheckpointFileError extends Error {
  override name = "CheckpointFileError";
}

/**
 * A run of whole pages in the file.
 *
 * @example
 * ```ts
 * import type { PageExtent } from "./checkpoint_file.ts";
 * const e: PageExtent = { offset: 4096, pages: 16 };
 * ```
 */
export interface PageExtent {
  /** File offset of its first page. */
  offset: number;
  pages: number;
}

/** "FERRYCKP". */
export const FERRY_CHECKPOINT_MAGIC = new TextEncoder().encode("FERRYCKP");
/** The Ferry checkpoint header's length: one page. */
export const FERRY_CHECKPOINT_HEADER_BYTES = PAGE_SIZE;
const FERRY_VERSION = 1;

/**
 * The header of a Ferry checkpoint of `pages` pages.
 *
 * @example
 * ```ts
 * import { ferryCheckpointHeader } from "./checkpoint_file.ts";
 * console.log(ferryCheckpointHeader(1).length); // 4096
 * ```
 */
export function ferryCheckpointHeader(pages: number): Uint8Array {
  const h = new Uint8Array(FERRY_CHECKPOINT_HEADER_BYTES);
  const v = new DataView(h.buffer);
  h.set(FERRY_CHECKPOINT_MAGIC);
  v.setUint32(8, FERRY_VERSION);
  v.setUint32(12, PAGE_SIZE);
  v.setUint32(16, Math.floor(pages / 2 ** 32));
  v.setUint32(20, pages >>> 0);
  return h;
}

/**
 * Where the pages of a checkpoint file are, in file order; throws
 * {@link CheckpointFileError} for a file that is not a valid checkpoint of
 * `format`.
 *
 * @example
 * ```ts
 * import { checkpointExtents, memoryAccess } from "./checkpoint_file.ts";
 * try {
 *   checkpointExtents(memoryAccess(new Uint8Array(10)), "elf");
 * } catch (e) {
 *   console.log((e as Error).message); // "not an ELF file: 10 bytes, shorter than an ELF header"
 * }
 * ```
 */
export function checkpointExtents(
  file: RandomAccess,
  format: "elf" | "ferry",
): { extents: PageExtent[]; pages: number } {
  const r = format === "elf" ? elfExtents(file) : ferryExtents(file);
  if (r.pages === 0) throw new CheckpointFileError("the checkpoint holds no pages");
  if (r.pages > SUMMARY_ENTRIES_MAX) {
    throw new CheckpointFileError(
      `the checkpoint holds ${r.pages} pages, more than the ${SUMMARY_ENTRIES_MAX} (64 GiB) indexed`,
    );
  }
  return r;
}

function readExact(file: RandomAccess, offset: number, n: number, what: string): DataView {
  const b = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = file.readAt(offset + got, b.subarray(got));
    if (k <= 0) {
      throw new CheckpointFileError(
        `${what} at offset ${offset} runs past the end of the file (${file.size} bytes)`,
      );
    }
    got += k;
  }
  return new DataView(b.buffer);
}

function ferryExtents(file: RandomAccess): { extents: PageExtent[]; pages: number } {
  if (file.size < FERRY_CHECKPOINT_HEADER_BYTES) {
    throw new CheckpointFileError(
      `not a Ferry checkpoint: ${file.size} bytes, shorter than its ${FERRY_CHECKPOINT_HEADER_BYTES}-byte header`,
    );
  }
  const v = readExact(file, 0, 24, "the header");
  for (let i = 0; i < FERRY_CHECKPOINT_MAGIC.length; i++) {
    if (v.getUint8(i) !== FERRY_CHECKPOINT_MAGIC[i]) {
      throw new CheckpointFileError("not a Ferry checkpoint: bad magic");
    }
  }
  const version = v.getUint32(8), pageSize = v.getUint32(12);
  if (version !== FERRY_VERSION) {
    throw new CheckpointFileError(`Ferry checkpoint version ${version} is not ${FERRY_VERSION}`);
  }
  if (pageSize !== PAGE_SIZE) {
    throw new CheckpointFileError(`Ferry checkpoint page size ${pageSize} is not ${PAGE_SIZE}`);
  }
  const pages = u64(v, 16, false, "the page count");
  const need = FERRY_CHECKPOINT_HEADER_BYTES + pages * PAGE_SIZE;
  if (file.size < need) {
    throw new CheckpointFileError(
      `Ferry checkpoint truncated: ${pages} pages need ${need} bytes, the file has ${file.size}`,
    );
  }
  return { extents: [{ offset: FERRY_CHECKPOINT_HEADER_BYTES, pages }], pages };
}

function u64(v: DataView, at: number, le: boolean, what: string): number {
  const hi = v.getUint32(le ? at + 4 : at, le), lo = v.getUint32(le ? at : at + 4, le);
  if (hi >= 2 ** 21) throw new CheckpointFileError(`${what} ${hi} * 2^32 + ${lo} is too large`);
  return hi * 2 ** 32 + lo;
}

const PT_LOAD = 1, PN_XNUM = 0xffff;
const ELF_IDENT_BYTES = 16;

function elfExtents(file: RandomAccess): { extents: PageExtent[]; pages: number } {
  if (file.size < ELF_IDENT_BYTES) {
    throw new CheckpointFileError(
      `not an ELF file: ${file.size} bytes, shorter than an ELF header`,
    );
  }
  const id = readExact(file, 0, ELF_IDENT_BYTES, "the ELF ident");
  if (
    id.getUint8(0) !== 0x7f || id.getUint8(1) !== 0x45 || id.getUint8(2) !== 0x4c ||
    id.getUint8(3) !== 0x46
  ) throw new CheckpointFileError("not an ELF file: bad magic");
  const cls = id.getUint8(4), data = id.getUint8(5);
  if (cls !== 1 && cls !== 2) throw new CheckpointFileError(`ELF class ${cls} is not 1 or 2`);
  if (data !== 1 && data !== 2) {
    throw new CheckpointFileError(`ELF byte order ${data} is not 1 (LSB) or 2 (MSB)`);
  }
  const le = data === 1, is64 = cls === 2;
  const ehBytes = is64 ? 64 : 52;
  if (file.size < ehBytes) {
    throw new CheckpointFileError(
      `ELF file truncated: ${file.size} bytes, shorter than its ${ehBytes}-byte header`,
    );
  }
  const eh = readExact(file, 0, ehBytes, "the ELF header");
  const phoff = is64 ? u64(eh, 32, le, "e_phoff") : eh.getUint32(28, le);
  const shoff = is64 ? u64(eh, 40, le, "e_shoff") : eh.getUint32(32, le);
  const phentsize = eh.getUint16(is64 ? 54 : 42, le);
  let phnum = eh.getUint16(is64 ? 56 : 44, le);
  const phBytes = is64 ? 56 : 32, shBytes = is64 ? 64 : 40;
  if (phentsize !== phBytes) {
    throw new CheckpointFileError(`ELF e_phentsize ${phentsize} is not ${phBytes}`);
  }
  if (phnum === PN_XNUM) {
    if (shoff === 0) {
      throw new CheckpointFileError("ELF e_phnum is PN_XNUM but there is no section 0");
    }
    const sh = readExact(file, shoff, shBytes, "section header 0");
    phnum = sh.getUint32(is64 ? 44 : 28, le);
  }
  if (phnum === 0) throw new CheckpointFileError("ELF file has no program headers");
  if (phoff + phnum * phBytes > file.size) {
    throw new CheckpointFileError(
      `ELF program headers (${phnum} at offset ${phoff}) run past the end of the file (${file.size} bytes)`,
    );
  }
  const ph = readExact(file, phoff, phnum * phBytes, "the program headers");
  const extents: PageExtent[] = [];
  let pages = 0;
  for (let i = 0; i < phnum; i++) {
    const at = i * phBytes;
    if (ph.getUint32(at, le) !== PT_LOAD) continue;
    const offset = is64 ? u64(ph, at + 8, le, "p_offset") : ph.getUint32(at + 4, le);
    const filesz = is64 ? u64(ph, at + 32, le, "p_filesz") : ph.getUint32(at + 16, le);
    const memsz = is64 ? u64(ph, at + 40, le, "p_memsz") : ph.getUint32(at + 20, le);
    if (filesz > memsz) {
      throw new CheckpointFileError(
        `ELF PT_LOAD ${i}: p_filesz ${filesz} exceeds p_memsz ${memsz}`,
      );
    }
    if (offset + filesz > file.size) {
      throw new CheckpointFileError(
        `ELF file truncated: PT_LOAD ${i} needs bytes ${offset}..${
          offset + filesz
        }, the file has ${file.size}`,
      );
    }
    const n = Math.floor(filesz / PAGE_SIZE);
    if (n > 0) {
      extents.push({ offset, pages: n });
      pages += n;
    }
  }
  if (extents.length === 0) throw new CheckpointFileError("ELF file has no PT_LOAD with memory");
  return { extents, pages };
}

/**
 * Bytes in memory as a {@link RandomAccess}.
 *
 * @example
 * ```ts
 * import { memoryAccess } from "./checkpoint_file.ts";
 * const into = new Uint8Array(2);
 * console.log(memoryAccess(new Uint8Array([1, 2, 3])).readAt(1, into), into); // 2 Uint8Array(2) [ 2, 3 ]
 * ```
 */
export function memoryAccess(bytes: Uint8Array): RandomAccess {
  return {
    size: bytes.length,
    readAt(offset: number, into: Uint8Array): number {
      if (offset >= bytes.length) return 0;
      const n = Math.min(into.length, bytes.length - offset);
      into.set(bytes.subarray(offset, offset + n));
      return n;
    },
    close() {},
  };
}

/**
 * A file on disk as a {@link RandomAccess} (opened read-only, kept open);
 * throws {@link CheckpointFileError} when it cannot be opened.
 *
 * @example
 * ```ts ignore
 * import { fileAccess } from "./checkpoint_file.ts";
 * const f = fileAccess("guest.elf");
 * console.log(f.size);
 * f.close();
 * ```
 */
export function fileAccess(path: string): RandomAccess {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch (e) {
    throw new CheckpointFileError(`cannot open ${path}: ${(e as Error).message}`);
  }
  const size = f.statSync().size;
  return {
    size,
    readAt(offset: number, into: Uint8Array): number {
      if (offset >= size) return 0;
      f.seekSync(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < into.length) {
        const n = f.readSync(into.subarray(got));
        if (n === null || n === 0) break;
        got += n;
      }
      return got;
    },
    close() {
      try {
        f.close();
      } catch {
        // closed already
      }
    },
  };
}

/**
 * A Ferry checkpoint of RAM whose blocks are `blocks` (in order), as the
 * pieces of the file: its header, then each block's bytes (not copied).
 *
 * @example
 * ```ts
 * import { ferryCheckpointPieces } from "./checkpoint_file.ts";
 * const pieces = ferryCheckpointPieces([new Uint8Array(8192)]);
 * console.log(pieces.map((p) => p.length)); // [4096, 8192]
 * ```
 */
export function ferryCheckpointPieces(blocks: readonly Uint8Array[]): Uint8Array[] {
  let bytes = 0;
  for (const b of blocks) bytes += b.length;
  return [ferryCheckpointHeader(bytes / PAGE_SIZE), ...blocks];
}
