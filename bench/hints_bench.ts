/**
 * Free-page hints, in one process: what a request costs the host and the
 * guest on a 1 GiB guest with 75 % free, what a flood costs the host, and
 * what the free view costs the workload's touches.
 *
 * Aims: an honest request on 1 GiB answered and applied in under 50 ms;
 * the engine taking a flood's ranges at 20 million per second or more;
 * random touches with 75 % free memory at 0.5 million per second or more
 * (three in four allocate, and an allocation zeroes a whole page, which is
 * memory-bound: about 1 us for a random 4 KiB page here).
 * @module
 */
import { SimClock } from "../src/sim/sim_clock.ts";
import { Prng } from "../src/util/prng.ts";
import { createRam, PAGE_SIZE } from "../src/guest/ram.ts";
import { DirtyBitmap, DirtyLog } from "../src/guest/dirty_log.ts";
import { FreeView } from "../src/guest/free_view.ts";
import { BalloonDevice, BalloonDriver } from "../src/guest/balloon.ts";
import { Workload } from "../src/guest/workload.ts";
import { FreePageHinting } from "../src/engine/free_page_hints.ts";

const PAGES = (1024 ** 3) / PAGE_SIZE;

/** One request on a 1 GiB guest: the driver's answer and the engine's apply, in wall ms. */
async function request(behaviour: "honest" | "flood"): Promise<Record<string, number>> {
  const clock = new SimClock();
  const ram = { blocks: [{ firstPage: 0, pages: PAGES }], totalPages: PAGES } as never;
  const view = new FreeView(PAGES);
  view.initialise({ ratio: 0.75, prng: new Prng(1) });
  const device = new BalloonDevice();
  new BalloonDriver(device, {
    view,
    blocks: [{ firstPage: 0, pages: PAGES }],
    behaviour,
    clock,
    prng: new Prng(2),
  });
  const bitmap = new DirtyBitmap(PAGES);
  bitmap.setAll();
  const hints = new FreePageHinting(device, { ram, bitmap, clock, timeoutMs: 1e9 });
  let engineMs = 0;
  const t0 = performance.now();
  await clock.run(async () => {
    hints.request();
    for (let i = 0; i < 5000; i++) {
      await clock.sleep(1);
      const t = performance.now();
      hints.poll();
      engineMs += performance.now() - t;
      const s = hints.stats();
      if (s.answered || (behaviour === "flood" && s.rejected.budget >= 2_000_000 - PAGES)) break;
    }
    hints.stop();
  });
  const s = hints.stats();
  return {
    totalMs: performance.now() - t0,
    engineMs,
    ranges: s.rangesAccepted + s.rejected.budget + s.rejected.overlap,
    pagesSkipped: s.pagesSkipped,
  };
}

/** Touches per second of a random workload, with and without free memory. */
function touchRate(freeRatio: number): number {
  const ram = createRam([{ name: "pc.ram", bytes: 64 * 1024 ** 2 }]);
  const w = Workload.fresh({ kind: "random", touchesPerSec: 0, writeBytes: 64, freeRatio }, 3);
  w.boot(ram);
  const log = new DirtyLog(ram.totalPages);
  w.touch(ram, log, 100_000);
  const t0 = performance.now();
  w.touch(ram, log, 1_000_000);
  return 1e6 / ((performance.now() - t0) / 1000);
}

/** Runs the hints benchmark and prints a table. */
export async function runHintsBench(): Promise<Record<string, number>> {
  const honest = await request("honest");
  const flood = await request("flood");
  const plain = touchRate(0);
  const withFree = touchRate(0.75);
  const rows = {
    "honest request, 1 GiB, 75 % free: wall ms": honest.totalMs,
    "  the engine's polls, ms": honest.engineMs,
    "  ranges": honest.ranges,
    "  pages skipped": honest.pagesSkipped,
    "flood request: wall ms": flood.totalMs,
    "  the engine's polls on the flood, ms": flood.engineMs,
    "  ranges taken by the engine": flood.ranges,
    "  host ranges per second (millions)": flood.ranges / flood.engineMs / 1000,
    "random touches/s, no free memory (millions)": plain / 1e6,
    "random touches/s, 75 % free (millions)": withFree / 1e6,
  };
  for (const [k, v] of Object.entries(rows)) {
    console.log(`${k.padEnd(48)} ${Number.isInteger(v) ? v : v.toFixed(2)}`);
  }
  return rows;
}

if (import.meta.main) await runHintsBench();
