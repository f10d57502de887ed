import { assertEquals, assertOk } from "../util/assert.ts";
import { SimClock } from "../sim/sim_clock.ts";
import { SimVcpu } from "../sim/sim_vcpu.ts";
import { simLinkPair } from "../net/sim_link.ts";
import { createRam, PAGE_SIZE } from "../guest/ram.ts";
import { DirtyBitmap, DirtyLog } from "../guest/dirty_log.ts";
import { bootGuest } from "../guest/replay.ts";
import { encodeDeviceState } from "../guest/device_state.ts";
import { startHintSource } from "../guest/hint_wiring.ts";
import { compareRams } from "../scenario/checker.ts";
import type { BalloonBehaviour } from "../contract/types.ts";
import { resolveMigration } from "./capabilities.ts";
import { runSource } from "./source.ts";
import { runDestination } from "./destination.ts";
import {
  FreePageHinting,
  HINT_RANGE_BYTES_MAX,
  type HintBatch,
  type HintSource,
} from "./free_page_hints.ts";

/** A hint source the test drives by hand. */
class ScriptedSource implements HintSource {
  readonly name = "scripted";
  queue: HintBatch[] = [];
  requests: number[] = [];
  stopped = false;
  request(id: number) {
    this.requests.push(id);
  }
  take() {
    return this.queue.shift() ?? null;
  }
  stop() {
    this.stopped = true;
  }
  push(commandId: number, pairs: number[], done = false) {
    this.queue.push({ commandId, ranges: new Float64Array(pairs), count: pairs.length / 2, done });
  }
}

/** A manual clock. */
function manualClock() {
  let now = 0;
  return {
    nowMs: () => now,
    sleep: () => Promise.resolve(),
    advance(ms: number) {
      now += ms;
    },
  };
}

function setup(timeoutMs = 100) {
  const ram = createRam([{ name: "pc.ram", bytes: 64 * PAGE_SIZE }, {
    name: "vga",
    bytes: 16 * PAGE_SIZE,
  }]);
  const bitmap = new DirtyBitmap(ram.totalPages);
  bitmap.setAll();
  const clock = manualClock();
  const source = new ScriptedSource();
  const hints = new FreePageHinting(source, { ram, bitmap, clock, timeoutMs });
  return { ram, bitmap, clock, source, hints };
}

const P = PAGE_SIZE;

Deno.test("hints: a valid range clears dirty bits and counts the pages it skipped", () => {
  const { bitmap, source, hints } = setup();
  hints.request();
  assertEquals(source.requests, [1]);
  source.push(1, [0, 8 * P, 70 * P, 2 * P], true);
  hints.poll();
  const s = hints.stats();
  assertEquals(s.pagesSkipped, 10);
  assertEquals(s.rangesAccepted, 2);
  assertEquals(s.answered, 1);
  assertEquals(bitmap.count(), 80 - 10);
  assertEquals(bitmap.has(7), false);
  assertEquals(bitmap.has(8), true);
  assertEquals(bitmap.has(71), false);
  // The round sends the rest (the bitmap empties); the next sync finds pages 0 and 8 written.
  bitmap.words.fill(0);
  bitmap.set(0);
  bitmap.set(8);
  hints.request();
  source.push(2, [0, 9 * P]);
  hints.poll();
  // Pages already clear are not counted twice; page 0 was never sent and is
  // skipped again; page 8 was sent in the round and goes again.
  assertEquals(hints.stats().pagesSkipped, 11);
  assertEquals(hints.stats().pagesAlreadySent, 1);
  assertEquals(bitmap.has(0), false);
  assertEquals(bitmap.has(8), true);
});

Deno.test("hints: a page sent while the guest ran is never skipped again, whatever the guest says", () => {
  // Issue 21: such a page may have been torn (written while it was read), and
  // only a later copy clears its failed checksum at the destination. A hint
  // that spared it made the destination refuse the whole stream.
  const { bitmap, source, hints } = setup();
  hints.request(); // 1: the bulk pass, every page due
  source.push(1, [10 * P, 10 * P], true); // pages 10..19 free: skipped
  hints.poll();
  // The bulk pass has sent every page so far but page 30, which it has not reached yet.
  for (let p = 0; p < 80; p++) if (p !== 30) bitmap.clear(p);
  source.push(1, [30 * P, P, 40 * P, P]); // 30 still dirty: skipped; 40 already sent
  hints.poll();
  assertEquals(hints.stats().pagesSkipped, 11);
  assertEquals(bitmap.count(), 0);
  hints.retire(); // the sync: everything written during the pass is dirty again
  bitmap.setAll();
  hints.request(); // 2
  source.push(2, [0, 64 * P, 64 * P, 16 * P], true); // "all of it is free"
  hints.poll();
  const s = hints.stats();
  // Only the pages the destination never received are spared: 10..19 and 30.
  assertEquals(s.pagesSkipped, 11 + 11);
  assertEquals(s.pagesAlreadySent, 80 - 11);
  assertEquals(bitmap.count(), 80 - 11);
  for (let p = 0; p < 80; p++) {
    const neverSent = (p >= 10 && p < 20) || p === 30;
    assertEquals(bitmap.has(p), !neverSent, `page ${p}`);
  }
  // Round 2 sends those 69; the next command can no longer spare them either.
  bitmap.words.fill(0);
  hints.retire();
  bitmap.set(12);
  bitmap.set(50);
  hints.request(); // 3
  source.push(3, [12 * P, P, 50 * P, P], true);
  hints.poll();
  assertEquals(bitmap.has(12), false, "never sent: skipped");
  assertEquals(bitmap.has(50), true, "sent: goes again");
  assertEquals(hints.stats().pagesAlreadySent, 69 + 1);
});

Deno.test("hints: pages left due under a timed-out, stale or superseded command count as sent", () => {
  const { bitmap, clock, source, hints } = setup(100);
  hints.request(); // 1: nothing arrives in time
  clock.advance(100);
  source.push(1, [0, 4 * P], true);
  hints.poll();
  assertEquals(hints.stats().rejected.late, 1);
  bitmap.words.fill(0); // the bulk pass sent everything
  hints.retire();
  bitmap.set(2);
  hints.request(); // 2
  source.push(1, [0, 4 * P], true); // stale
  source.push(2, [0, 4 * P], true);
  hints.poll();
  assertEquals(hints.stats().rejected.stale, 1);
  assertEquals(hints.stats().pagesSkipped, 0);
  assertEquals(hints.stats().pagesAlreadySent, 1);
  assertEquals(bitmap.has(2), true);
});

Deno.test("hints: every malformed range is refused for its reason, and nothing else changes", () => {
  const { bitmap, source, hints } = setup();
  hints.request();
  source.push(1, [
    1,
    P, // unaligned address
    P,
    P + 1, // unaligned length
    NaN,
    P, // not a number
    2 * P,
    0, // empty
    2 * P,
    -P, // negative
    0,
    HINT_RANGE_BYTES_MAX + P, // too long
    80 * P,
    P, // beyond RAM
    -P,
    P, // negative address
    63 * P,
    2 * P, // crosses from pc.ram into vga
    79 * P,
    2 * P, // runs off the end
    4 * P,
    2 * P, // valid
    5 * P,
    P, // overlaps the one before
  ]);
  source.queue.push({ commandId: 1, ranges: new Float64Array(2), count: 5, done: false });
  source.queue.push({ commandId: 1, ranges: new Float64Array(2), count: 0.5, done: false });
  hints.poll();
  const r = hints.stats().rejected;
  assertEquals(r, {
    stale: 0,
    late: 0,
    unaligned: 3,
    length: 3,
    outOfRange: 4,
    overlap: 1,
    budget: 0,
    malformed: 2,
  });
  assertEquals(hints.stats().pagesSkipped, 2);
  assertEquals(bitmap.count(), 78);
});

Deno.test("hints: only the current command counts; a sync retires it, a timeout makes answers late", () => {
  const { bitmap, clock, source, hints } = setup(100);
  source.push(1, [0, P]); // before any request
  hints.poll();
  assertEquals(hints.stats().rejected.stale, 1);
  hints.request(); // 1
  hints.retire(); // a sync
  source.push(1, [0, P]);
  hints.poll();
  assertEquals(hints.stats().rejected.stale, 2);
  assertEquals(hints.stats().superseded, 1);
  hints.request(); // 2
  clock.advance(99);
  hints.poll();
  assertEquals(hints.stats().timedOut, 0);
  clock.advance(1);
  source.push(2, [0, P, P, P], true);
  hints.poll();
  const s = hints.stats();
  assertEquals(s.timedOut, 1);
  assertEquals(s.rejected.late, 2);
  assertEquals(s.answered, 0);
  assertEquals(bitmap.count(), 80, "nothing was cleared");
  hints.request(); // 3: the timed-out request is not also superseded
  assertEquals(hints.stats().superseded, 1);
  hints.stop();
  assertOk(source.stopped);
  source.push(3, [0, P]);
  hints.poll();
  assertEquals(hints.stats().rejected.stale, 3, "after stop nothing counts");
  hints.request();
  assertEquals(source.requests, [1, 2, 3], "no request after stop");
});

Deno.test("hints: a request takes at most one range per guest page; a poll does bounded work", () => {
  const { source, hints } = setup();
  hints.request();
  for (let i = 0; i < 200; i++) source.push(1, [0, P, P, P, 2 * P, P]);
  hints.poll();
  const s = hints.stats();
  assertEquals(s.rangesAccepted, 3);
  assertEquals(s.rejected.overlap, 77);
  assertEquals(s.rejected.budget, 600 - 80);
  assertEquals(source.queue.length, 0);
});

/**
 * One simulated migration of a 75 %-free 16 MiB guest with a random
 * workload (slow by default), at 64 MiB/s: paced by the engine
 * (`maxBandwidth`), or by the link. Time comparisons use the link: the
 * engine's rate limit lets the source catch up after a pause, so a stall
 * while pages remain would not show in the time.
 */
async function simulate(
  behaviour: BalloonBehaviour | "off",
  seed = 11,
  busy = { touchesPerSec: 2000, downtimeLimitMs: 20 },
  pace: "engine" | "link" = "engine",
) {
  const clock = new SimClock();
  const hintsOn = behaviour !== "off";
  const { config, errors } = resolveMigration({
    capabilities: { freePageHints: hintsOn },
    parameters: {
      ...(pace === "engine" ? { maxBandwidth: "64MiB/s" } : {}),
      downtimeLimitMs: busy.downtimeLimitMs,
      maxRounds: 8,
      ...(hintsOn ? { hintTimeoutMs: 50 } : {}),
    },
  });
  assertEquals(errors, []);
  const guestConfig = {
    blocks: [{ name: "pc.ram", bytes: 16 << 20 }],
    fill: "random" as const,
    seeds: { fill: seed, workload: seed + 1, balloon: seed + 2 },
    workload: {
      kind: "random" as const,
      touchesPerSec: busy.touchesPerSec,
      writeBytes: 256,
      freeRatio: 0.75,
    },
  };
  return await clock.run(async () => {
    const { ram, workload } = bootGuest(guestConfig);
    const log = new DirtyLog(ram.totalPages);
    const vcpu = new SimVcpu(ram, log, clock);
    vcpu.run(workload.state());
    await clock.sleep(50);
    const wiring = startHintSource(config, {
      view: vcpu.freeView,
      ram,
      behaviour: hintsOn ? behaviour : "honest",
      clock,
      seed,
      staticFree: [],
    });
    const { a, b } = simLinkPair(clock, {
      seed,
      ...(pace === "link" ? { bandwidthBytesPerSec: 64 * 2 ** 20 } : {}),
    });
    let free: Uint8Array | null = null;
    const freeAtStart = vcpu.freeView.bytes();
    const [src, dst] = await Promise.all([
      runSource({
        guest: {
          ram,
          syncDirtyLog: (into) => log.syncInto(into),
          stop: () => {
            const state = vcpu.pause()!;
            free = state.free ?? null;
            return Promise.resolve(encodeDeviceState({ workload: state }));
          },
          cont: () => Promise.resolve(vcpu.resume()),
        },
        link: a,
        clock,
        config,
        hints: wiring?.source,
      }),
      runDestination({
        link: b,
        clock,
        createRam: (s) =>
          createRam(s.blocks.map((x) => ({ name: x.name, bytes: x.pages * PAGE_SIZE }))),
        loadDevice: () => {},
      }),
    ]);
    vcpu.stop();
    const lied = wiring?.driver?.liedBytes() ?? null;
    const cmp = dst.ram ? compareRams(ram, dst.ram, { free, lied }) : null;
    // Pages free when migration began and in use at stop: allocated (written) meanwhile.
    let allocated = 0;
    for (let p = 0; p < ram.totalPages; p++) {
      const bit = 1 << (p & 7);
      if ((freeAtStart[p >> 3] & bit) && !(free![p >> 3] & bit)) allocated++;
    }
    return { src, dst, cmp, allocated, lied: wiring?.driver?.stats().liedPages ?? 0 };
  });
}

Deno.test("hints in simulation: honest hints send under 35 % of the bytes, memory equal, same seed same run", async () => {
  const off = await simulate("off");
  const honest = await simulate("honest");
  const again = await simulate("honest");
  for (const r of [off, honest]) {
    assertEquals(r.src.outcome, "completed", r.src.error);
    assertEquals(r.cmp?.memoryEqual, true, r.cmp?.mismatchedAddresses.join(", "));
  }
  const ratio = honest.src.bytes.total / off.src.bytes.total;
  assertOk(ratio <= 0.35, `honest hints sent ${(ratio * 100).toFixed(1)} % of the bytes`);
  assertOk(honest.src.hints!.pagesSkipped > 1500, JSON.stringify(honest.src.hints));
  assertOk((honest.cmp?.freePagesExcluded ?? 0) > 1500);
  assertEquals(again.src.bytes, honest.src.bytes);
  assertEquals(again.src.hints, honest.src.hints);
  assertEquals(again.src.endAtMs, honest.src.endAtMs);
});

Deno.test("hints in simulation: no malicious balloon stalls migration, breaks memory or grows the queue", async () => {
  const off = await simulate("off", 11, undefined, "link");
  const offMs = off.src.endAtMs - off.src.startAtMs;
  for (const b of ["silent", "slow", "stale", "flood", "garbage", "liar"] as const) {
    const r = await simulate(b, 11, undefined, "link");
    const ms = r.src.endAtMs - r.src.startAtMs;
    assertEquals(r.src.outcome, "completed", `${b}: ${r.src.error}`);
    assertEquals(r.cmp?.memoryEqual, true, `${b}: ${r.cmp?.mismatchedAddresses.join(", ")}`);
    assertOk(
      ms <= offMs * 1.1,
      `${b}: ${ms.toFixed(1)} ms against ${offMs.toFixed(1)} ms without hints`,
    );
    const h = r.src.hints!;
    if (b === "silent" || b === "slow" || b === "stale") {
      assertEquals(h.pagesSkipped, 0, b);
      assertEquals(h.answered, 0, b);
    }
    if (b === "silent") assertOk(h.timedOut + h.superseded === h.requests);
    if (b === "slow") assertOk(h.rejected.late + h.rejected.stale > 0);
    if (b === "stale") assertOk(h.rejected.stale > 0);
    if (b === "flood") assertOk(h.rejected.budget > 100_000, JSON.stringify(h));
    if (b === "garbage") {
      const rej = h.rejected;
      assertOk(rej.unaligned > 0 && rej.length > 0 && rej.outOfRange > 0 && rej.overlap > 0);
    }
    if (b === "liar") {
      assertOk(r.lied > 0);
      assertOk((r.cmp?.liarMismatchedPages ?? 0) > 0, "the lies cost the guest pages");
      assertOk(r.cmp!.liarMismatchedPages! <= r.lied);
    }
  }
});

Deno.test("hints in simulation: a busy guest over several rounds, pages allocated after they were hinted arrive", async () => {
  const busy = { touchesPerSec: 20_000, downtimeLimitMs: 5 };
  const off = await simulate("off", 12, busy);
  for (const b of ["honest", "flood", "slow"] as const) {
    for (const seed of [12, 13]) {
      const r = await simulate(b, seed, busy);
      assertEquals(r.src.outcome, "completed", r.src.error);
      assertEquals(r.cmp?.memoryEqual, true, `${b}: ${r.cmp?.mismatchedAddresses.join(", ")}`);
      const h = r.src.hints!;
      assertOk(h.requests >= 3, `requests ${h.requests}`);
      assertOk(r.allocated > 500, `${r.allocated} pages were allocated during migration`);
      if (b === "honest") assertOk(h.answered >= 3, `answered ${h.answered}`);
      if (b !== "slow") {
        assertOk(r.src.bytes.total < off.src.bytes.total * 0.6, `${b}: ${r.src.bytes.total}`);
      }
    }
  }
});

Deno.test("hints: the capability, its parameters and the guest's free memory are validated field by field", async () => {
  const { resolveScenario } = await import("../scenario/validate.ts");
  const { CAPABILITIES } = await import("./capabilities.ts");
  const decl = CAPABILITIES.find((c) => c.name === "freePageHints")!;
  assertEquals(decl.parameters.map((p) => [p.name, p.default]), [
    ["hintTimeoutMs", 500],
    ["hintSource", "balloon"],
  ]);

  const ok = resolveScenario({
    name: "ok",
    guest: {
      ram: "64MiB",
      freeRatio: 0.75,
      balloon: { behaviour: "liar" },
      staticFreeMap: [{ start: "32MiB", length: "1MiB" }, { start: 0, length: 4096 }],
      workload: { kind: "random" },
    },
    migration: { capabilities: { freePageHints: true }, parameters: { hintTimeoutMs: 50 } },
  });
  assertEquals(ok.errors, []);
  assertEquals(ok.resolved!.workload.freeRatio, 0.75);
  assertEquals(ok.resolved!.workload.staticFree, [[0, 1], [8192, 256]]);
  assertEquals(ok.resolved!.migration.hintTimeoutMs, 50);
  assertEquals(ok.resolved!.migration.hintSource, "balloon");

  const bad = resolveScenario({
    name: "bad",
    guest: {
      ram: "64MiB",
      freeRatio: 0.5,
      staticFreeMap: [
        { start: "1KiB", length: "4KiB" },
        { start: "60MiB", length: "8MiB" },
        { start: 0, length: 0 },
        { start: "8MiB", length: "2MiB", colour: "red" } as never,
        { start: "9MiB", length: "1MiB" },
      ],
      workload: { kind: "counter" },
    },
    migration: { parameters: { hintTimeoutMs: 10 } },
  });
  for (
    const want of [
      "guest.staticFreeMap[0].start:",
      "guest.staticFreeMap[1]: ends at",
      "guest.staticFreeMap[2].length:",
      "guest.staticFreeMap[3].colour: unknown field",
      "guest.staticFreeMap: ranges at",
      "guest.freeRatio: the counter workload",
    ]
  ) assertOk(bad.errors.some((e) => e.startsWith(want)), `${want} in ${bad.errors.join("\n")}`);
  assertEquals(bad.warnings, [
    "migration.parameters.hintTimeoutMs: unused, capability freePageHints is off",
  ]);

  const noMap = resolveScenario({
    name: "static",
    guest: { ram: "64MiB" },
    migration: { capabilities: { freePageHints: true }, parameters: { hintSource: "static" } },
  });
  assertOk(noMap.errors.some((e) => e.includes('"static" reports guest.staticFreeMap')));
  const big = resolveScenario({ name: "big", guest: { ram: "32GiB", freeRatio: 0.1 } });
  assertOk(big.errors.some((e) => e.startsWith("guest.ram: a guest with free memory")));
  assertEquals(
    resolveScenario({ name: "big", guest: { ram: "16GiB", freeRatio: 0.1 } }).errors,
    [],
  );
});
