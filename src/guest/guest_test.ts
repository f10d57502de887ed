import { assertEquals, assertOk, assertThrows } from "../util/assert.ts";
import { createRam, PAGE_SIZE, pageAddress } from "./ram.ts";
import { DirtyBitmap, DirtyLog, popcount32 } from "./dirty_log.ts";
import {
  checkCounterInvariant,
  Workload,
  type WorkloadConfig,
  XBRLE_SEED_PAGES,
} from "./workload.ts";
import { Vcpu } from "./vcpu.ts";
import { digestRam } from "./digest.ts";
import { fillRam } from "./fill.ts";
import { replayGuest } from "./replay.ts";
import { decodeDeviceState, encodeDeviceState } from "./device_state.ts";
import { deflateSync } from "node:zlib";

Deno.test("dirty log: marks, fetch-and-clear, bitmap iteration", () => {
  const log = new DirtyLog(100);
  for (const p of [0, 31, 32, 99]) log.mark(p);
  log.mark(31);
  const bm = new DirtyBitmap(100);
  assertEquals(log.syncInto(bm), 4);
  assertEquals(log.syncInto(bm), 0, "the log is cleared by a sync");
  const seen: number[] = [];
  for (let p = bm.next(0); p >= 0; p = bm.next(p + 1)) seen.push(p);
  assertEquals(seen, [0, 31, 32, 99]);
  bm.setAll();
  assertEquals(bm.count(), 100, "setAll covers exactly the pages");
  bm.clear(50);
  assertEquals(bm.has(50), false);
  assertEquals(popcount32(-1), 32);
});

Deno.test("RAM blocks: global numbering, addresses and bad sizes", () => {
  const ram = createRam([{ name: "pc.ram", bytes: 8 * PAGE_SIZE }, {
    name: "vga",
    bytes: 2 * PAGE_SIZE,
  }]);
  assertEquals(ram.totalPages, 10);
  assertEquals(pageAddress(ram, 9), "vga+0x1000");
  assertThrows(() => createRam([{ name: "x", bytes: 100 }]), RangeError);
});

const cfg = (kind: WorkloadConfig["kind"], writeBytes = 64): WorkloadConfig => ({
  kind,
  touchesPerSec: 1000,
  writeBytes,
});

Deno.test("workloads are deterministic in their touch count and resume exactly", () => {
  for (const kind of ["sequential", "random", "hotset", "xbrle-seed", "counter"] as const) {
    const a = createRam([{ name: "pc.ram", bytes: 64 * 1024 * 4 }]);
    const b = createRam([{ name: "pc.ram", bytes: 64 * 1024 * 4 }]);
    const la = new DirtyLog(a.totalPages), lb = new DirtyLog(b.totalPages);
    const wa = Workload.fresh(cfg(kind), 9);
    wa.touch(a, la, 500);
    wa.touch(a, la, 700);
    // b: 500 touches, save state, resume elsewhere, 700 more.
    const wb = Workload.fresh(cfg(kind), 9);
    wb.touch(b, lb, 500);
    const moved = Workload.resume(
      decodeDeviceState(encodeDeviceState({ workload: wb.state() })).workload,
    );
    moved.touch(b, lb, 700);
    assertEquals(
      digestRam(a),
      digestRam(b),
      `${kind}: split and resumed run equals a straight run`,
    );
    assertEquals(moved.touches, 1200);
  }
});

Deno.test("hotset sends most touches to its hot pages; xbrle-seed touches 64 pages, a byte each", () => {
  const ram = createRam([{ name: "pc.ram", bytes: 1000 * PAGE_SIZE }]);
  const log = new DirtyLog(ram.totalPages);
  Workload.fresh({ ...cfg("hotset"), hotsetRatio: 0.05, hotsetProbability: 0.95 }, 1).touch(
    ram,
    log,
    2000,
  );
  const bm = new DirtyBitmap(ram.totalPages);
  log.syncInto(bm);
  let hot = 0;
  for (let p = 0; p < 50; p++) hot += bm.has(p) ? 1 : 0;
  assertEquals(hot, 50, "every hot page was touched");
  assertOk(bm.count() < 200, `few cold pages touched: ${bm.count()}`);

  const seedRam = createRam([{ name: "pc.ram", bytes: 100 * PAGE_SIZE }]);
  const w = Workload.fresh(cfg("xbrle-seed", 1), 1);
  w.touch(seedRam, new DirtyLog(100), XBRLE_SEED_PAGES * 2);
  assertEquals(seedRam.blocks[0].bytes[5 * PAGE_SIZE + 1234 + 5], 10, "two passes of += i");
  assertEquals(seedRam.blocks[0].bytes[64 * PAGE_SIZE + 1234 + 64], 0, "page 64 untouched");
});

Deno.test("counter workload keeps its invariant, and the checker sees a break", () => {
  const ram = createRam([{ name: "pc.ram", bytes: 300 * PAGE_SIZE }]);
  fillRam(ram, { fill: "random", seed: 4 });
  const w = Workload.fresh(cfg("counter", 1), 1);
  w.boot(ram);
  const log = new DirtyLog(ram.totalPages);
  for (const n of [1, 150, 299, 300, 451]) {
    w.touch(ram, log, n);
    assertEquals(checkCounterInvariant(ram).ok, true, checkCounterInvariant(ram).detail);
  }
  ram.blocks[0].bytes[10 * PAGE_SIZE] ^= 0x40;
  assertEquals(checkCounterInvariant(ram).ok, false);
});

Deno.test("fills: zero, random (distinct pages), compressible (deflates to under half)", () => {
  const ram = createRam([{ name: "pc.ram", bytes: 64 * PAGE_SIZE }]);
  fillRam(ram, { fill: "random", seed: 1 });
  const d = digestRam(ram);
  const distinct = new Set<string>();
  for (let p = 0; p < 64; p++) distinct.add(d.subarray(p * 16, p * 16 + 16).join(","));
  assertEquals(distinct.size, 64);
  fillRam(ram, { fill: "compressible", seed: 1 });
  const z = deflateSync(ram.blocks[0].bytes.slice(0, PAGE_SIZE));
  assertOk(z.length < PAGE_SIZE / 2, `compressible page deflates to ${z.length} bytes`);
});

Deno.test("replay reproduces a guest from its seed and touch count", () => {
  const config = {
    blocks: [{ name: "pc.ram", bytes: 128 * PAGE_SIZE }],
    fill: "random" as const,
    seeds: { fill: 5, workload: 6, balloon: 7 },
    workload: cfg("random"),
  };
  assertEquals(digestRam(replayGuest(config, 300)), digestRam(replayGuest(config, 300)));
  assertOk(
    digestRam(replayGuest(config, 300)).some((v, i) =>
      v !== digestRam(replayGuest(config, 301))[i]
    ),
  );
});

Deno.test("vCPU worker: runs at its rate, pauses (no writes while paused), resumes", async () => {
  const ram = createRam([{ name: "pc.ram", bytes: 256 * PAGE_SIZE }]);
  const log = new DirtyLog(ram.totalPages);
  const vcpu = await Vcpu.create(ram, log);
  try {
    await vcpu.run(
      Workload.fresh({ kind: "random", touchesPerSec: 20_000, writeBytes: 8 }, 3).state(),
    );
    await new Promise((r) => setTimeout(r, 100));
    const s1 = (await vcpu.pause())!;
    assertOk(s1.touches > 200, `the vCPU made touches: ${s1.touches}`);
    const before = digestRam(ram);
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(digestRam(ram), before, "no writes while paused");
    assertEquals((await vcpu.pause())!.touches, s1.touches);
    await vcpu.resume();
    await new Promise((r) => setTimeout(r, 50));
    assertOk((await vcpu.pause())!.touches > s1.touches, "resumed");
    const bm = new DirtyBitmap(ram.totalPages);
    assertOk(log.syncInto(bm) > 0);
  } finally {
    await vcpu.stop();
  }
});
