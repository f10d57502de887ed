/**
 * File ports: the seekable transport of mapped-ram ({@link FilePort} in
 * src/contract/ports.ts). {@link openFilePort} wraps a Deno file with
 * positioned writes (`seek` + `write`, as `pwrite` does it); {@link memoryFilePort}
 * keeps the file in memory, for tests and the simulator. Both take a
 * `sizeLimitBytes`: a write that would make the file larger fails as a full
 * disk does (`ENOSPC`), the scenario's way to fill the disk.
 *
 * @example
 * ```ts
 * import { memoryFilePort } from "./file_port.ts";
 * const f = memoryFilePort();
 * await f.pwrite(new Uint8Array([1, 2, 3]), 10);
 * console.log(await f.size()); // 13
 * ```
 * @module
 */
import type { FilePort, Link } from "../contract/ports.ts";
export type { FilePort };

/** Options of the file ports. */
export interface FilePortOptions {
  /** Largest size the file may reach; a write past it fails as a full disk does. */
  sizeLimitBytes?: number;
}

/** The error a write past the size limit raises (as the kernel's ENOSPC). */
export function diskFullError(path: string, limit: number): Error {
  const e = new Error(
    `No space left on device: ${path} may not grow past ${limit} bytes (ENOSPC)`,
  );
  e.name = "DiskFull";
  return e;
}

/**
 * Opens (creating, and emptying unless `keep`) the file at `path` as a port.
 *
 * @example
 * ```ts ignore
 * import { openFilePort } from "./file_port.ts";
 * const f = await openFilePort("guest.ferry", { sizeLimitBytes: 1 << 30 });
 * await f.pwrite(new Uint8Array(4096), 1 << 20);
 * f.close();
 * ```
 */
export async function openFilePort(
  path: string,
  options: FilePortOptions & { write?: boolean } = {},
): Promise<FilePort> {
  const write = options.write ?? true;
  const file = await Deno.open(
    path,
    write ? { read: true, write: true, create: true, truncate: true } : { read: true },
  );
  const limit = options.sizeLimitBytes ?? Infinity;
  let closed = false;
  return {
    // Positioned reads and writes are synchronous: a 1 MiB write blocks the
    // event loop for well under a millisecond, and an async op's hop through
    // the runtime's thread pool cost 10x the throughput on a loaded machine
    // (bench/file_bench.ts; docs/mapped_ram.md). The sync to the device stays async.
    pwrite(data, offset) {
      if (offset + data.length > limit) return Promise.reject(diskFullError(path, limit));
      try {
        file.seekSync(offset, Deno.SeekMode.Start);
        let off = 0;
        while (off < data.length) off += file.writeSync(data.subarray(off));
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e);
      }
    },
    pread(into, offset) {
      try {
        file.seekSync(offset, Deno.SeekMode.Start);
        let got = 0;
        while (got < into.length) {
          const n = file.readSync(into.subarray(got));
          if (n === null || n === 0) break;
          got += n;
        }
        return Promise.resolve(got);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async size() {
      return (await file.stat()).size;
    },
    async truncate(bytes) {
      if (bytes > limit) throw diskFullError(path, limit);
      await file.truncate(bytes);
    },
    async sync() {
      await file.syncData();
    },
    close() {
      if (closed) return;
      closed = true;
      file.close();
    },
  };
}

/** A memory file: its bytes, and how many of them were ever written. */
export interface MemoryFilePort extends FilePort {
  /** The file's content (a copy of its logical size). */
  bytes(): Uint8Array;
  /** Bytes written to it, rewrites included. */
  readonly writtenBytes: number;
}

/**
 * A file kept in memory (tests, the simulator); `initial` is its content.
 *
 * @example
 * ```ts
 * import { memoryFilePort } from "./file_port.ts";
 * const f = memoryFilePort({ sizeLimitBytes: 8 });
 * await f.pwrite(new Uint8Array(9), 0).catch((e) => console.log(e.name)); // DiskFull
 * ```
 */
export function memoryFilePort(
  options: FilePortOptions & { initial?: Uint8Array } = {},
): MemoryFilePort {
  const limit = options.sizeLimitBytes ?? Infinity;
  let buf = new Uint8Array(options.initial?.length ?? 0);
  if (options.initial) buf.set(options.initial);
  let size = buf.length;
  let written = 0;
  const grow = (n: number) => {
    if (n <= buf.length) return;
    const next = new Uint8Array(Math.max(n, buf.length * 2));
    next.set(buf.subarray(0, size));
    buf = next;
  };
  return {
    pwrite(data, offset) {
      if (offset + data.length > limit) return Promise.reject(diskFullError("memory", limit));
      grow(offset + data.length);
      buf.set(data, offset);
      size = Math.max(size, offset + data.length);
      written += data.length;
      return Promise.resolve();
    },
    pread(into, offset) {
      const n = Math.max(0, Math.min(into.length, size - offset));
      into.set(buf.subarray(offset, offset + n));
      return Promise.resolve(n);
    },
    size: () => Promise.resolve(size),
    truncate(bytes) {
      if (bytes > limit) return Promise.reject(diskFullError("memory", limit));
      grow(bytes);
      buf.fill(0, Math.min(bytes, size), Math.max(bytes, size));
      size = bytes;
      return Promise.resolve();
    },
    sync: () => Promise.resolve(),
    close() {},
    bytes: () => buf.slice(0, size),
    get writtenBytes() {
      return written;
    },
  };
}

/**
 * A link that reads `file` from its start, as a stream (restoring a `stream`
 * file through the destination engine); what is written to it goes nowhere.
 *
 * @example
 * ```ts
 * import { fileReadLink, memoryFilePort } from "./file_port.ts";
 * const link = fileReadLink(memoryFilePort({ initial: new Uint8Array([1, 2]) }));
 * console.log(await link.read(new Uint8Array(8))); // 2
 * ```
 */
export function fileReadLink(file: FilePort): Link {
  let at = 0;
  return {
    write: () => Promise.resolve(),
    async read(into) {
      const n = await file.pread(into, at);
      at += n;
      return n === 0 ? null : n;
    },
    close() {},
  };
}
