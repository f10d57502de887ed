import { assertEquals, assertOk } from "../util/assert.ts";
import { SimClock } from "../sim/sim_clock.ts";
import { simLinkPair } from "../net/sim_link.ts";
import { createRam, PAGE_SIZE } from "../guest/ram.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import { fillRam } from "../guest/fill.ts";
import { resolveMigration } from "./capabilities.ts";
import { CpuMeter, type PagesWork } from "./cpu_cost.ts";
import { KindStats } from "./stats.ts";
import { runSource, type SourceGuest } from "./source.ts";
import { runDestination } from "./destination.ts";

Deno.test("cpu meter: hands the port what was done since the last charge", () => {
  const seen: PagesWork[] = [];
  const meter = new CpuMeter((w) => (seen.push({ ...w }), w.normal + 2 * w.xbzrleUnchanged));
  const stats = new KindStats();
  stats.add("normal", 3, 3 * PAGE_SIZE);
  stats.add("zero", 2, 2);
  assertEquals(meter.chargeMs(stats, 4), 3 + 8);
  stats.add("xbzrle", 1, 10);
  stats.add("deflate", 5, 100);
  stats.add("normal", 1, PAGE_SIZE);
  assertEquals(meter.chargeMs(stats, 5), 1 + 2);
  assertEquals(meter.chargeMs(stats, 5), 0);
  assertEquals(seen, [
    { normal: 3, zero: 2, xbzrle: 0, deflate: 0, xbzrleUnchanged: 4 },
    { normal: 1, zero: 0, xbzrle: 1, deflate: 5, xbzrleUnchanged: 1 },
    { normal: 0, zero: 0, xbzrle: 0, deflate: 0, xbzrleUnchanged: 0 },
  ]);
});

Deno.test("cpu cost port: every page sent is charged once, and the source spends what the port says on its clock", async () => {
  const clock = new SimClock();
  const totals: PagesWork = { normal: 0, zero: 0, xbzrle: 0, deflate: 0, xbzrleUnchanged: 0 };
  let chargedMs = 0;
  const { src, dst } = await clock.run(async () => {
    const ram = createRam([{ name: "pc.ram", bytes: 2 << 20 }]);
    fillRam(ram, { fill: "random", seed: 2 });
    ram.blocks[0].bytes.fill(0, 0, 40 * PAGE_SIZE);
    // Each sync: pages 100..149 marked dirty but unchanged, pages 200..249 changed by one byte.
    const log = new DirtyLog(ram.totalPages);
    let running = true, syncs = 0;
    const guest: SourceGuest = {
      ram,
      syncDirtyLog(into) {
        if (running) {
          syncs++;
          for (let p = 100; p < 150; p++) log.mark(p);
          for (let p = 200; p < 250; p++) {
            ram.blocks[0].bytes[p * PAGE_SIZE + syncs] ^= 0x5a;
            log.mark(p);
          }
        }
        return log.syncInto(into);
      },
      stop() {
        running = false;
        return Promise.resolve(new Uint8Array([1]));
      },
      cont() {
        running = true;
        return Promise.resolve();
      },
    };
    const pair = simLinkPair(clock, { bandwidthBytesPerSec: 1e9 });
    const { config } = resolveMigration({
      capabilities: { xbzrle: true },
      parameters: { downtimeLimitMs: 0, maxRounds: 4 },
    });
    const dst = runDestination({
      link: pair.b,
      clock,
      createRam: (s) => createRam(s.blocks.map((b) => ({ name: b.name, bytes: b.pages * 4096 }))),
      loadDevice: () => {},
    });
    const src = await runSource({
      guest,
      link: pair.a,
      clock,
      config,
      cpuCostMs: (work) => {
        for (const k of Object.keys(totals) as (keyof PagesWork)[]) totals[k] += work[k];
        const ms = work.normal * 0.01 + work.xbzrle * 0.02 + work.xbzrleUnchanged * 0.02;
        chargedMs += ms;
        return ms;
      },
    });
    return { src, dst: await dst };
  });
  assertEquals(src.outcome, "completed", src.error);
  assertEquals(dst.outcome, "completed", dst.error);
  assertEquals(
    [totals.normal, totals.zero, totals.xbzrle, totals.deflate],
    [src.pages.normal, src.pages.zero, src.pages.xbzrle, src.pages.deflate],
  );
  assertEquals(totals.xbzrleUnchanged, src.xbzrle?.unchangedPages);
  assertOk(src.xbzrle!.unchangedPages > 0 && src.pages.xbzrle! > 0, "both kinds of XBZRLE work");
  assertOk(
    src.endAtMs - src.startAtMs >= chargedMs,
    `the source took ${src.endAtMs - src.startAtMs} ms, at least the ${chargedMs} ms charged`,
  );
  assertOk(chargedMs >= src.pages.normal * 0.01, "the bulk pass alone costs that");
});
