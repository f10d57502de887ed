/**
 * The fuzzer's seed corpus: valid migration streams, written by the real
 * source engine in process from small guests (two RAM blocks, a busy
 * workload, several dirty rounds), one per capability mix, plus one stream
 * the source aborts. Each is recorded byte for byte as it leaves the source.
 *
 * @example
 * ```ts ignore
 * const seeds = await seedStreams();
 * console.log(seeds.map((s) => `${s.name}: ${s.bytes.length} B`));
 * ```
 * @module
 */
import { memoryLinkPair } from "../net/link.ts";
import type { Clock } from "../util/clock.ts";
import { createRam, PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import { fillRam } from "../guest/fill.ts";
import { Workload } from "../guest/workload.ts";
import { encodeDeviceState } from "../guest/device_state.ts";
import { resolveMigration } from "../engine/capabilities.ts";
import { compressMethods } from "../engine/compress.ts";
import { runSource, type SourceGuest } from "../engine/source.ts";
import { runDestination } from "../engine/destination.ts";
import type { Link } from "../net/link.ts";

/** One valid stream. */
export interface SeedStream {
  name: string;
  bytes: Uint8Array;
  /** How the source ended it: "completed" streams end with `end`, the others with `abort`. */
  outcome: string;
}

/** Three dirty rounds, then stop-and-copy (the stepping clock would converge at once). */
const ROUNDS = { maxRounds: 3, downtimeLimitMs: 0, onNoConvergence: "force" };

/** The seed guests' RAM layout: small, so that a load takes tens of microseconds. */
export const SEED_BLOCKS = [
  { name: "pc.ram", bytes: 24 * PAGE_SIZE },
  { name: "vga", bytes: 4 * PAGE_SIZE },
];

/**
 * Writes the seed streams, the same bytes every run (the engine runs on a
 * stepping clock), so that `--seed` alone replays a fuzz run.
 *
 * @example
 * ```ts ignore
 * const [first] = await seedStreams();
 * ```
 */
export async function seedStreams(): Promise<SeedStream[]> {
  const mixes: {
    name: string;
    capabilities: Record<string, boolean>;
    parameters: Record<string, unknown>;
  }[] = [
    { name: "plain", capabilities: {}, parameters: ROUNDS },
    { name: "xbzrle", capabilities: { xbzrle: true }, parameters: ROUNDS },
    {
      name: "deflate",
      capabilities: { compress: true },
      parameters: { ...ROUNDS, compressMethod: "deflate" },
    },
    ...(compressMethods().includes("zstd")
      ? [{
        name: "zstd",
        capabilities: { compress: true },
        parameters: { ...ROUNDS, compressMethod: "zstd" },
      }]
      : []),
    {
      name: "aborted",
      capabilities: {},
      parameters: { maxRounds: 2, downtimeLimitMs: 0, onNoConvergence: "cancel" },
    },
  ];
  const out: SeedStream[] = [];
  for (const [i, m] of mixes.entries()) {
    out.push(await record(m.name, m.capabilities, m.parameters, i + 1));
  }
  return out;
}

async function record(
  name: string,
  capabilities: Record<string, boolean>,
  parameters: Record<string, unknown>,
  seed: number,
): Promise<SeedStream> {
  const ram = createRam(SEED_BLOCKS);
  fillRam(ram, { fill: name === "deflate" || name === "zstd" ? "compressible" : "random", seed });
  ram.blocks[0].bytes.fill(0, 4 * PAGE_SIZE, 10 * PAGE_SIZE); // zero pages
  const workload = Workload.fresh({ kind: "hotset", touchesPerSec: 0, writeBytes: 64 }, seed);
  const guest = steppedGuest(ram, workload, 6);
  const { config, errors } = resolveMigration({ parameters, capabilities });
  if (errors.length) throw new Error(`seed ${name}: ${errors.join("; ")}`);
  const [a, b] = memoryLinkPair();
  const clock = steppingClock();
  const chunks: Uint8Array[] = [];
  const tap: Link = {
    write: (d) => (chunks.push(d.slice()), a.write(d)),
    read: (into, t) => a.read(into, t),
    close: () => a.close(),
  };
  const [src] = await Promise.all([
    runSource({ guest, link: tap, clock, config }),
    runDestination({
      link: b,
      clock,
      createRam: (setup) =>
        createRam(setup.blocks.map((x) => ({ name: x.name, bytes: x.pages * PAGE_SIZE }))),
      loadDevice: () => {},
    }),
  ]);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    bytes.set(c, o);
    o += c.length;
  }
  return { name, bytes, outcome: src.outcome };
}

/**
 * A clock that moves 0.01 ms per reading and jumps on sleep (once the
 * microtasks pending are done), so that the engine's decisions, and with them
 * the seed streams, are the same every run.
 */
function steppingClock(): Clock {
  let t = 0;
  return {
    nowMs: () => (t += 0.01),
    // After every pending microtask (the in-memory peer's work), so a timeout never wins a race.
    sleep: (ms) =>
      new Promise((resolve) =>
        setTimeout(() => {
          t += Math.max(0, ms);
          resolve();
        }, 0)
      ),
  };
}

/** A guest stepped by the engine: each dirty-log sync first makes `touchesPerSync` touches. */
function steppedGuest(ram: Ram, workload: Workload, touchesPerSync: number): SourceGuest {
  const log = new DirtyLog(ram.totalPages);
  let running = true;
  return {
    ram,
    syncDirtyLog(into) {
      if (running) workload.touch(ram, log, touchesPerSync);
      return log.syncInto(into);
    },
    stop() {
      running = false;
      return Promise.resolve(encodeDeviceState({ workload: workload.state() }));
    },
    cont() {
      running = true;
      return Promise.resolve();
    },
  };
}
