/**
 * Hashing off the main loop (capability `hashDedup`, real peers): a pool of
 * workers over the guest's shared RAM that fills a shared table of SHA-256
 * digests, 32 bytes per global page. The source engine asks it for every
 * page a section will consider before it walks the section; the simulator
 * passes no pool and the engine hashes inline, on its virtual clock.
 *
 * Hashing a page before it is sent is safe: the dirty log was synced before
 * the section, so a page the guest writes after its digest is dirty again
 * and goes again; the destination installs the content the digest names,
 * verified, and never anything else.
 *
 * @example
 * ```ts ignore
 * const pool = HashWorkers.start(ram, 2);
 * await pool.hash(pages, n); // pool.digests[g * 32 ..] now holds page g's SHA-256
 * pool.close();
 * ```
 * @module
 */
import type { Ram } from "../guest/ram.ts";
import { HASH_BYTES } from "../stream/format.ts";

/**
 * What the source engine needs of a hashing pool.
 *
 * @example
 * ```ts
 * import type { PageHasher } from "./hash_workers.ts";
 * const none: PageHasher | null = null;
 * ```
 */
export interface PageHasher {
  /** The digest table: {@link HASH_BYTES} bytes per global page. */
  readonly digests: Uint8Array;
  /** Hashes the first `count` pages of `pages` (global numbers) into the table. */
  hash(pages: Uint32Array, count: number): Promise<void>;
}

/** Workers hashing guest pages into a shared digest table. */
export class HashWorkers implements PageHasher {
  readonly digests: Uint8Array;
  #workers: Worker[];
  #next = 0;
  #waiting = new Map<number, () => void>();

  private constructor(ram: Ram, workers: number) {
    this.digests = new Uint8Array(new SharedArrayBuffer(ram.totalPages * HASH_BYTES));
    const blocks = ram.blocks.map((b) => ({ sab: b.sab, firstPage: b.firstPage, pages: b.pages }));
    this.#workers = Array.from({ length: workers }, () => {
      const w = new Worker(new URL("./hash_worker.ts", import.meta.url), { type: "module" });
      w.onmessage = (e: MessageEvent) => {
        const done = this.#waiting.get(e.data.id);
        this.#waiting.delete(e.data.id);
        done?.();
      };
      w.postMessage({ blocks, digests: this.digests.buffer });
      return w;
    });
  }

  /** A pool of `workers` workers (at least 1) over `ram`. */
  static start(ram: Ram, workers: number): HashWorkers {
    return new HashWorkers(ram, Math.max(1, workers));
  }

  /** Hashes the pages, split evenly over the workers. */
  async hash(pages: Uint32Array, count: number): Promise<void> {
    const n = this.#workers.length;
    const per = Math.ceil(count / n);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < n && i * per < count; i++) {
      const id = this.#next++;
      const slice = pages.slice(i * per, Math.min(count, (i + 1) * per));
      jobs.push(new Promise<void>((resolve) => this.#waiting.set(id, resolve)));
      this.#workers[i].postMessage({ id, pages: slice }, [slice.buffer]);
    }
    await Promise.all(jobs);
  }

  /** Ends the workers. */
  close(): void {
    for (const w of this.#workers) w.terminate();
    for (const done of this.#waiting.values()) done();
    this.#waiting.clear();
  }
}
