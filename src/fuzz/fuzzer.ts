/**
 * The stream fuzzer: feeds mutated streams to the destination's loader
 * (`runDestination`, the same code the destination peer runs) in process,
 * over a byte-source link, as fast as it can, and judges each load:
 *
 * - it never throws (a crash), and ends before `deadlineMs` (a hang);
 * - a refusal says what was wrong and at which stream offset;
 * - it allocates RAM only within the destination's `maxRamBytes` (no
 *   unbounded allocation), and the process stays within `rssBudgetBytes`;
 * - a stream whose checksums were not forged and that completes loads the
 *   very RAM and device state of a clean load of its seed (the checksums let
 *   nothing else through). A _forged_ mutant (section checksums recomputed,
 *   as an attacker who knows the format would) that completes is counted, not
 *   failed: CRC-32 is no MAC, and only the peers' handshake keeps such a
 *   sender out (docs/security.md).
 *
 * Inputs that give a new _signature_ (the outcome and the refusing check's
 * message with its numbers masked) join the corpus and are mutated further.
 * Deno exposes no in-process coverage, so the signature stands in for it.
 *
 * @example
 * ```ts ignore
 * const report = await runFuzz({ count: 10_000, seed: 1 });
 * console.log(report.failures.length === 0);
 * ```
 * @module
 */
import type { Link } from "../net/link.ts";
import { systemClock } from "../util/clock.ts";
import { Prng } from "../util/prng.ts";
import { createRam, PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { decodeDeviceState } from "../guest/device_state.ts";
import { FreeView } from "../guest/free_view.ts";
import { runDestination } from "../engine/destination.ts";
import { SEED_BLOCKS, seedStreams } from "./seed_streams.ts";
import { streamLayout } from "./stream_layout.ts";
import { type Entry, type Mutant, mutate } from "./mutators.ts";

/** Fuzzer options. */
export interface FuzzOptions {
  /** Mutated streams to load. */
  count: number;
  /** Seeds every mutation. */
  seed: number;
  /** A load that takes longer is a hang (default 2000 ms). */
  deadlineMs?: number;
  /** The process's resident memory must stay under this (default 1 GiB). */
  rssBudgetBytes?: number;
  /** Corpus entries kept besides the seeds (default 512). */
  corpusMax?: number;
  /** Called with each new signature's mutant and each failure's (to save them). */
  keep?(kind: "signature" | "failure", m: Mutant, what: string): void;
  /** Progress lines. */
  log?(line: string): void;
  /** A progress line every this many streams (default 100 000). */
  progressEvery?: number;
}

/** A failed load. */
export interface FuzzFailure {
  index: number;
  how: string;
  what: string;
}

/** What a run found. */
export interface FuzzReport {
  streams: number;
  failures: FuzzFailure[];
  /** Distinct signatures seen (outcome and refusing check). */
  signatures: number;
  /** Mutants that loaded completely: unforged (RAM equal to a clean load, checked) and forged. */
  completedUnforged: number;
  completedForged: number;
  /** Forged mutants that completed with RAM or device state unlike any clean load. */
  completedForgedDiffering: number;
  /** Mutants that changed only NORMAL page data (each page has its CRC-32). */
  pageDataOnly: number;
  /** The largest RAM a single load allocated, in bytes. */
  allocatedBytesMax: number;
  /** The RAM bound the loader enforces, in bytes. */
  maxRamBytes: number;
  /** The slowest single load, in ms, and its mutators. */
  loadMsMax: number;
  slowest: string;
  elapsedMs: number;
  /** Resident memory and JS heap, sampled every 1000 streams, at their highest. */
  rssBytesMax: number;
  heapBytesMax: number;
  /** The seed streams: name and size. */
  seeds: { name: string; bytes: number }[];
}

const SEED_RAM_BYTES = SEED_BLOCKS.reduce((n, b) => n + b.bytes, 0);

/**
 * Runs the fuzzer.
 *
 * @example
 * ```ts ignore
 * const r = await runFuzz({ count: 1000, seed: 7 });
 * ```
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const deadlineMs = options.deadlineMs ?? 2000;
  const rssBudget = options.rssBudgetBytes ?? 1024 ** 3;
  const corpusMax = options.corpusMax ?? 512;
  const log = options.log ?? (() => {});
  const every = options.progressEvery ?? 100_000;
  const seeds = await seedStreams();
  const loader = new Loader();
  const corpus: Entry[] = [];
  const refs: { ram: Uint8Array | null; device: Uint8Array | null }[] = [];
  for (const [i, s] of seeds.entries()) {
    const r = await loader.load(s.bytes, s.bytes.length);
    const want = s.outcome === "completed" ? "completed" : "cancelled";
    if (r.outcome !== want) {
      throw new Error(`Seed ${s.name} loads ${r.outcome}, not ${want}: ${r.error}`);
    }
    refs.push({ ram: r.ram, device: r.device });
    corpus.push({ bytes: s.bytes, seeds: [i], layout: streamLayout(s.bytes) });
  }
  const report: FuzzReport = {
    streams: 0,
    failures: [],
    signatures: 0,
    completedUnforged: 0,
    completedForged: 0,
    completedForgedDiffering: 0,
    pageDataOnly: 0,
    allocatedBytesMax: 0,
    maxRamBytes: loader.maxRamBytes,
    loadMsMax: 0,
    slowest: "",
    elapsedMs: 0,
    rssBytesMax: 0,
    heapBytesMax: 0,
    seeds: seeds.map((s) => ({ name: s.name, bytes: s.bytes.length })),
  };
  const seen = new Set<string>();
  const entryBytesMax = 2 * Math.max(...seeds.map((s) => s.bytes.length));
  const prng = new Prng(options.seed);
  const t0 = performance.now();
  let startedAt = 0;
  let current = null as Mutant | null;
  let index = 0;
  let hung!: (e: Error) => void;
  const hang = new Promise<never>((_, reject) => (hung = reject));
  const watchdog = setInterval(() => {
    if (current && performance.now() - startedAt > deadlineMs) {
      hung(new Error(`stream ${index} (${current.how}) took over ${deadlineMs} ms: a hang`));
    }
  }, Math.max(50, deadlineMs / 4));
  const fail = (m: Mutant, what: string) => {
    report.failures.push({ index, how: m.how, what });
    options.keep?.("failure", m, what);
    log(`FAIL stream ${index} (${m.how}): ${what}`);
  };
  const sample = () => {
    const mem = Deno.memoryUsage();
    report.rssBytesMax = Math.max(report.rssBytesMax, mem.rss);
    report.heapBytesMax = Math.max(report.heapBytesMax, mem.heapUsed);
    return mem.rss;
  };
  const loop = async () => {
    for (index = 0; index < options.count; index++) {
      const parent = corpus[prng.nextInt(corpus.length)];
      const m = mutate(prng, parent, corpus);
      const chunk = chunkSize(prng, m.bytes.length);
      current = m;
      startedAt = performance.now();
      let r: LoadResult;
      try {
        r = await loader.load(m.bytes, chunk);
      } catch (e) {
        current = null;
        report.streams++;
        fail(m, `the loader threw: ${(e as Error).stack ?? e}`);
        continue;
      }
      const ms = performance.now() - startedAt;
      if (ms > report.loadMsMax) {
        report.loadMsMax = ms;
        report.slowest = `stream ${index} (${m.how}, ${m.bytes.length} B)`;
      }
      current = null;
      report.streams++;
      // A load that blocked the event loop past the deadline (the watchdog could not run).
      if (ms > deadlineMs) {
        fail(m, `the load took ${Math.round(ms)} ms, over the ${deadlineMs} ms deadline`);
      }
      if (m.pageDataOnly) report.pageDataOnly++;
      if (r.allocatedBytes > report.allocatedBytesMax) report.allocatedBytesMax = r.allocatedBytes;
      if (r.allocatedBytes > loader.maxRamBytes) {
        fail(m, `allocated ${r.allocatedBytes} B, over the ${loader.maxRamBytes} B bound`);
      }
      if (r.outcome === "failed" || r.outcome === "cancelled") {
        if (!/offset \d+|^Source aborted the migration/.test(r.error ?? "")) {
          fail(m, `a refusal that names no stream offset: ${r.error}`);
        }
      } else if (r.outcome === "completed") {
        const same = m.seeds.some((s) =>
          equal(r.ram, refs[s].ram) && equal(r.device, refs[s].device)
        );
        if (m.forged) {
          report.completedForged++;
          if (!same) report.completedForgedDiffering++;
        } else {
          report.completedUnforged++;
          if (!same) {
            fail(m, "completed with RAM or device state unlike a clean load of its seed");
          }
        }
      } else fail(m, `an unknown outcome ${r.outcome}`);
      const sig = `${r.outcome}:${signature(r.error)}`;
      const signaturesBefore = seen.size;
      if (!seen.has(sig)) {
        seen.add(sig);
        options.keep?.("signature", m, sig);
      }
      // Kept for further mutation only up to twice the largest seed: chains of inserts would
      // otherwise grow entries to a MiB, and the run to a crawl.
      if (seen.size > signaturesBefore && m.bytes.length <= entryBytesMax) {
        // A copy: the mutant lies in the mutators' scratch buffers.
        const entry: Entry = {
          bytes: m.bytes.slice(),
          seeds: m.seeds,
          layout: null,
          forged: m.forged,
        };
        if (corpus.length < seeds.length + corpusMax) corpus.push(entry);
        else corpus[seeds.length + prng.nextInt(corpusMax)] = entry;
      }
      if (index % 1000 === 0 && sample() > rssBudget) {
        // The run ends here: going on would only grow it further.
        fail(m, `resident memory ${report.rssBytesMax} B over the ${rssBudget} B budget`);
        break;
      }
      if (index > 0 && index % every === 0) {
        const s = (performance.now() - t0) / 1000;
        log(
          `fuzz: ${index} streams, ${report.failures.length} failures, ${seen.size} signatures, ${
            Math.round(index / s)
          }/s, rss ${Math.round(report.rssBytesMax / 2 ** 20)} MiB`,
        );
      }
      // Let timers (the watchdog) run now and then.
      if (index % 256 === 0) await new Promise((r) => setTimeout(r, 0));
    }
  };
  try {
    await Promise.race([loop(), hang]);
  } catch (e) {
    report.failures.push({ index, how: current?.how ?? "", what: (e as Error).message });
    if (current) options.keep?.("failure", current, (e as Error).message);
  } finally {
    clearInterval(watchdog);
  }
  sample();
  report.signatures = seen.size;
  report.elapsedMs = performance.now() - t0;
  return report;
}

/** The last line of `deno task fuzz`. */
export function summaryLine(r: FuzzReport): string {
  const s = r.elapsedMs / 1000;
  return `fuzz: ${r.streams} streams, ${r.failures.length} failures, ${r.signatures} signatures, ${
    s.toFixed(1)
  } s, ${
    Math.round(r.streams / s)
  } streams/s, completed ${r.completedUnforged} unforged (RAM checked) + ${r.completedForged} forged (${r.completedForgedDiffering} differing), slowest load ${
    r.loadMsMax.toFixed(1)
  } ms (${r.slowest}), largest allocation ${r.allocatedBytesMax} B (bound ${r.maxRamBytes} B), rss max ${
    Math.round(r.rssBytesMax / 2 ** 20)
  } MiB`;
}

/** The error with its numbers masked: which check refused the stream. */
function signature(error: string | undefined): string {
  // Quoted or decoded content (names, msgpack) is the input's, not the check's.
  return (error ?? "").replace(/(Source aborted the migration: ).*/, "$1S")
    .replace(/"[^"]*"|\{.*\}/g, "S").replace(/0x-?[0-9a-f]+/gi, "H")
    .replace(/\d+/g, "N").slice(0, 200);
}

function chunkSize(prng: Prng, length: number): number {
  const r = prng.nextFloat();
  if (r < 0.7) return Math.max(1, length);
  // Tiny reads only for short streams: a 200 KiB stream read 32 bytes at a time costs 6000 awaits.
  if (r < 0.9 || length > 16 * 1024) return 1 + prng.nextInt(PAGE_SIZE * 2);
  return 1 + prng.nextInt(64);
}

function equal(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface LoadResult {
  outcome: string;
  error?: string;
  /** The loaded RAM, all blocks in order (completed loads only). */
  ram: Uint8Array | null;
  device: Uint8Array | null;
  allocatedBytes: number;
}

/**
 * The destination's loader with what it reuses across loads: the reader's
 * buffer, and RAM of the seeds' layout (zeroed before each load), as the
 * destination peer preallocates its guest's RAM. A stream declaring another
 * layout gets fresh RAM, within `maxRamBytes`, as a peer without
 * preallocation would.
 */
class Loader {
  readonly maxRamBytes = 4 * SEED_RAM_BYTES;
  #buffer = new Uint8Array(4 * 1024 * 1024);
  #ram: Ram = createRam(SEED_BLOCKS);
  #pos = 0;
  #bytes: Uint8Array = new Uint8Array(0);
  #chunk = 1;
  #link: Link = {
    write: () => Promise.resolve(),
    read: (into) => {
      if (this.#pos >= this.#bytes.length) return Promise.resolve(null);
      const n = Math.min(this.#chunk, into.length, this.#bytes.length - this.#pos);
      into.set(this.#bytes.subarray(this.#pos, this.#pos + n));
      this.#pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };

  async load(bytes: Uint8Array, chunk: number): Promise<LoadResult> {
    this.#bytes = bytes;
    this.#pos = 0;
    this.#chunk = chunk;
    let allocatedBytes = 0;
    let device: Uint8Array | null = null;
    let ram: Ram | null = null;
    const report = await runDestination({
      link: this.#link,
      clock: systemClock,
      maxRamBytes: this.maxRamBytes,
      readBuffer: this.#buffer,
      createRam: (setup) => {
        const same = setup.blocks.length === SEED_BLOCKS.length &&
          setup.blocks.every((b, i) =>
            b.name === SEED_BLOCKS[i].name && b.pages * PAGE_SIZE === SEED_BLOCKS[i].bytes
          );
        if (same) {
          for (const b of this.#ram.blocks) b.bytes.fill(0);
          ram = this.#ram;
        } else {
          allocatedBytes = setup.blocks.reduce((n, b) => n + b.pages * PAGE_SIZE, 0);
          ram = createRam(setup.blocks.map((b) => ({ name: b.name, bytes: b.pages * PAGE_SIZE })));
        }
        return ram;
      },
      loadDevice: (state) => {
        // As the destination peer does (peers/destination.ts).
        const s = decodeDeviceState(state).workload;
        const pages = (ram as Ram | null)?.totalPages ?? 0;
        if (s.free && s.free.length !== FreeView.byteLength(pages)) {
          throw new RangeError(`Device state carries a free view of ${s.free.length} bytes`);
        }
        device = state.slice();
      },
    });
    let flat: Uint8Array | null = null;
    if (report.outcome === "completed" && report.ram) {
      flat = new Uint8Array(report.ram.totalBytes);
      let o = 0;
      for (const b of report.ram.blocks) {
        flat.set(b.bytes, o);
        o += b.bytes.length;
      }
    }
    return { outcome: report.outcome, error: report.error, ram: flat, device, allocatedBytes };
  }
}
