import { assertEquals, assertOk } from "../util/assert.ts";
import { Prng } from "../util/prng.ts";
import { SimClock } from "../sim/sim_clock.ts";
import type { BalloonBehaviour } from "../contract/types.ts";
import {
  FreePageHinting,
  HINT_BATCH_RANGES_MAX,
  HINT_RANGE_BYTES_MAX,
  type HintBatch,
} from "../engine/free_page_hints.ts";
import { BALLOON_QUEUE_BATCHES, BalloonDevice, BalloonDriver } from "./balloon.ts";
import { FreeView } from "./free_view.ts";
import { createRam, PAGE_SIZE } from "./ram.ts";
import { DirtyBitmap } from "./dirty_log.ts";

/** Two blocks (3000 + 2000 pages), a 75 %-free view, a driver on a virtual clock. */
function rig(behaviour: BalloonBehaviour, seed = 1) {
  const clock = new SimClock();
  const ram = createRam([{ name: "pc.ram", bytes: 3000 * PAGE_SIZE }, {
    name: "extra",
    bytes: 2000 * PAGE_SIZE,
  }]);
  const view = new FreeView(ram.totalPages);
  view.initialise({ ratio: 0.75, prng: new Prng(seed), staticFree: [[2990, 20]] });
  const device = new BalloonDevice();
  const driver = new BalloonDriver(device, {
    view,
    blocks: ram.blocks,
    behaviour,
    clock,
    prng: new Prng(seed + 1),
    slowDelayMs: 300,
  });
  const drain = () => {
    const out: HintBatch[] = [];
    for (let b = device.take(); b; b = device.take()) out.push(b);
    return out;
  };
  return { clock, ram, view, device, driver, drain };
}

const ranges = (batches: HintBatch[]) =>
  batches.flatMap((b) =>
    Array.from({ length: b.count }, (_, i) => [b.ranges[2 * i], b.ranges[2 * i + 1]])
  );

Deno.test("balloon honest: asynchronous, batched, exactly the free view, split at 4 MiB and block ends", async () => {
  const { clock, ram, view, device, drain } = rig("honest");
  await clock.run(async () => {
    device.request(7);
    assertEquals(device.waiting, 0, "a request only wakes the driver");
    await clock.sleep(5);
    const batches = drain();
    assertOk(batches.length >= 1);
    assertOk(batches.every((b) => b.commandId === 7 && b.count <= HINT_BATCH_RANGES_MAX));
    assertEquals(batches.map((b) => b.done), batches.map((_, i) => i === batches.length - 1));
    const reported = new FreeView(view.pages);
    for (const [addr, len] of ranges(batches)) {
      assertOk(addr % PAGE_SIZE === 0 && len % PAGE_SIZE === 0 && len <= HINT_RANGE_BYTES_MAX);
      const p = addr / PAGE_SIZE, n = len / PAGE_SIZE;
      const block = ram.blocks.find((b) => p >= b.firstPage && p < b.firstPage + b.pages)!;
      assertOk(p + n <= block.firstPage + block.pages, "inside one block");
      reported.setRange(p, n);
    }
    assertEquals(reported.bytes(), view.bytes());
    assertOk(
      reported.isFree(3005) && reported.isFree(2995),
      "the static map, split at the block end",
    );
  });
});

Deno.test("balloon: a newer request or stop ends the old answer; stop empties the device", async () => {
  const { clock, device, drain } = rig("flood");
  await clock.run(async () => {
    device.request(1);
    await clock.sleep(3);
    assertEquals(device.waiting, BALLOON_QUEUE_BATCHES, "the flood fills the queue and no more");
    assertOk(device.refused > 0);
    device.request(2);
    drain();
    await clock.sleep(3);
    const ids = new Set(drain().map((b) => b.commandId));
    assertEquals([...ids], [2], "the driver moved on to the new command");
    device.stop();
    assertEquals(device.waiting, 0);
    await clock.sleep(10);
    assertEquals(device.waiting, 0, "a stopped driver posts nothing");
  });
});

Deno.test("balloon silent, slow, stale: nothing, late, and under the previous id", async () => {
  for (const behaviour of ["silent", "slow", "stale"] as const) {
    const { clock, device, drain, driver } = rig(behaviour);
    await clock.run(async () => {
      device.request(1);
      await clock.sleep(50);
      const first = drain();
      device.request(2);
      await clock.sleep(50);
      const second = drain();
      await clock.sleep(400);
      const late = drain();
      assertEquals(driver.stats().requests, 2);
      if (behaviour === "silent") assertEquals(first.length + second.length + late.length, 0);
      if (behaviour === "slow") {
        assertEquals(first.length + second.length, 0, "nothing before its delay");
        assertEquals([...new Set(late.map((b) => b.commandId))], [1, 2]);
      }
      if (behaviour === "stale") {
        assertOk(first.length > 0 && first.every((b) => b.commandId === 0));
        assertOk(second.length > 0 && second.every((b) => b.commandId === 1));
      }
    });
  }
});

Deno.test("balloon garbage and liar: the engine refuses the garbage; the liar's lies are recorded and were in use", async () => {
  for (const behaviour of ["garbage", "liar"] as const) {
    const { clock, ram, view, device, driver } = rig(behaviour);
    const bitmap = new DirtyBitmap(ram.totalPages);
    bitmap.setAll();
    const hints = new FreePageHinting(device, { ram, bitmap, clock, timeoutMs: 1000 });
    const inUse = new FreeView(view.pages);
    inUse.load(view.bytes());
    await clock.run(async () => {
      hints.request();
      await clock.sleep(20);
      hints.poll();
    });
    const s = hints.stats();
    for (let p = 0; p < ram.totalPages; p++) {
      if (!bitmap.has(p) && !inUse.isFree(p)) {
        assertOk(
          behaviour === "liar" && driver.lied.has(p),
          `${behaviour}: in-use page ${p} skipped`,
        );
      }
    }
    if (behaviour === "garbage") {
      const r = s.rejected;
      assertOk(r.unaligned > 100 && r.length > 100 && r.outOfRange > 100, JSON.stringify(r));
      assertEquals(r.overlap, s.rangesAccepted, "each valid range is followed by its overlap");
      assertOk(s.pagesSkipped <= 8);
    } else {
      const lied = driver.stats().liedPages;
      assertOk(lied > 0 && lied <= 32);
      assertEquals(driver.lied.count(), lied);
      for (let p = driver.lied.next(0); p >= 0; p = driver.lied.next(p + 1)) {
        assertOk(!inUse.isFree(p), `the liar lied about page ${p}, which was in use`);
        assertOk(!bitmap.has(p), "and the engine believed it");
      }
      assertOk(s.pagesSkipped > 0.7 * inUse.count());
      assertEquals(driver.liedBytes()!.length, Math.ceil(ram.totalPages / 32) * 4);
    }
  }
});

Deno.test("balloon: one seed, one sequence of batches", async () => {
  const seen: string[] = [];
  for (let i = 0; i < 2; i++) {
    const { clock, device, drain } = rig("garbage", 9);
    await clock.run(async () => {
      device.request(1);
      await clock.sleep(20);
      seen.push(JSON.stringify(ranges(drain())));
    });
  }
  assertEquals(seen[0], seen[1]);
});
