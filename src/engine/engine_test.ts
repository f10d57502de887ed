import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { memoryLinkPair } from "../net/link.ts";
import { systemClock } from "../util/clock.ts";
import { createRam, PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import { fillRam } from "../guest/fill.ts";
import { Workload } from "../guest/workload.ts";
import { resolveMigration } from "./capabilities.ts";
import { runSource, type SourceGuest } from "./source.ts";
import { runDestination } from "./destination.ts";

/** A guest stepped by the test: each dirty-log sync first makes `touchesPerSync` touches. */
function steppedGuest(ram: Ram, workload: Workload, touchesPerSync: number) {
  const log = new DirtyLog(ram.totalPages);
  let running = true;
  const guest: SourceGuest = {
    ram,
    syncDirtyLog(into) {
      if (running) workload.touch(ram, log, touchesPerSync);
      return log.syncInto(into);
    },
    stop() {
      running = false;
      return Promise.resolve(new TextEncoder().encode(JSON.stringify(workload.state())));
    },
    cont() {
      running = true;
      return Promise.resolve();
    },
  };
  return guest;
}

async function migrate(guest: SourceGuest, parameters: Record<string, unknown> = {}) {
  const [a, b] = memoryLinkPair();
  const { config, errors } = resolveMigration({ parameters });
  assertEquals(errors, []);
  let device: Uint8Array | null = null;
  const [src, dst] = await Promise.all([
    runSource({ guest, link: a, clock: systemClock, config }),
    runDestination({
      link: b,
      clock: systemClock,
      createRam: (setup) =>
        createRam(setup.blocks.map((x) => ({ name: x.name, bytes: x.pages * PAGE_SIZE }))),
      loadDevice: (s) => {
        device = s;
      },
    }),
  ]);
  return { src, dst, device };
}

function sameRam(a: Ram, b: Ram): boolean {
  return a.blocks.every((blk, i) => blk.bytes.every((v, j) => v === b.blocks[i].bytes[j]));
}

Deno.test("engine migrates a busy guest over an in-memory link, memory equal", async () => {
  const ram = createRam([{ name: "pc.ram", bytes: 4 << 20 }, {
    name: "vga.vram",
    bytes: 256 << 10,
  }]);
  fillRam(ram, { fill: "random", seed: 1 });
  ram.blocks[0].bytes.fill(0, 512 * PAGE_SIZE, 576 * PAGE_SIZE); // zero pages outside the hot set
  const w = Workload.fresh({ kind: "hotset", touchesPerSec: 0, writeBytes: 64 }, 3);
  const guest = steppedGuest(ram, w, 40);
  const { src, dst, device } = await migrate(guest);
  assertEquals(src.outcome, "completed", src.error);
  assertEquals(dst.outcome, "completed", dst.error);
  assertOk(dst.ram && sameRam(ram, dst.ram), "destination memory equals source memory");
  assertOk(device !== null);
  assertOk(src.pages.zero >= 60, `zero pages sent: ${src.pages.zero}`);
  assertEquals(src.bytes.total, dst.receivedBytes);
  assertOk(src.pages.normal >= ram.totalPages - 64, "every non-zero page went at least once");
  assertOk(src.progress.length === src.iterations && src.iterations >= 3);
});

Deno.test("engine forces stop-and-copy after maxRounds when it cannot converge", async () => {
  const ram = createRam([{ name: "pc.ram", bytes: 2 << 20 }]);
  const w = Workload.fresh({ kind: "random", touchesPerSec: 0, writeBytes: 4096 }, 5);
  const guest = steppedGuest(ram, w, 400);
  const { src, dst } = await migrate(guest, { downtimeLimitMs: 0, maxRounds: 3 });
  assertEquals(src.outcome, "completed");
  assertEquals(src.forced, true);
  assertEquals(src.rounds, 5); // bulk, rounds 1..3, the refused 4th becomes stop-and-copy
  assertOk(dst.ram && sameRam(ram, dst.ram));
});

Deno.test("engine cancels on no convergence when told to, and the destination discards", async () => {
  const ram = createRam([{ name: "pc.ram", bytes: 1 << 20 }]);
  const w = Workload.fresh({ kind: "random", touchesPerSec: 0, writeBytes: 4096 }, 5);
  const guest = steppedGuest(ram, w, 200);
  const { src, dst } = await migrate(guest, {
    downtimeLimitMs: 0,
    maxRounds: 2,
    onNoConvergence: "cancel",
  });
  assertEquals(src.outcome, "cancelled");
  assertEquals(src.guestRunning, true);
  assertMatch(src.error ?? "", /Did not converge after 2 rounds/);
  assertEquals(dst.outcome, "cancelled");
  assertEquals(dst.ram, null);
});
