import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { memoryLinkPair } from "../net/link.ts";
import { systemClock } from "../util/clock.ts";
import { createRam, PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import { fillRam } from "../guest/fill.ts";
import { Workload } from "../guest/workload.ts";
import { resolveMigration } from "./capabilities.ts";
import { compressMethods } from "./compress.ts";
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

async function migrate(
  guest: SourceGuest,
  parameters: Record<string, unknown> = {},
  capabilities: Record<string, boolean> = {},
) {
  const [a, b] = memoryLinkPair();
  const { config, errors } = resolveMigration({ parameters, capabilities });
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
  // The device state the source takes when it stops the guest.
  let stopped: Uint8Array | null = null;
  const stop = guest.stop.bind(guest);
  guest.stop = async () => (stopped = await stop());
  const { src, dst, device } = await migrate(guest);
  assertEquals(src.outcome, "completed", src.error);
  assertEquals(dst.outcome, "completed", dst.error);
  assertOk(dst.ram && sameRam(ram, dst.ram), "destination memory equals source memory");
  assertOk(stopped !== null, "the source stopped the guest");
  assertEquals(device, stopped, "the destination loaded the device state the source took");
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

/** Bytes sent after the bulk pass: everything past the first progress record after it. */
function afterBulk(src: { bytes: { total: number }; progress: { transferredBytes: number }[] }) {
  return src.bytes.total - src.progress[1].transferredBytes;
}

Deno.test("engine with xbzrle: deltas after the bulk pass, memory equal, a fraction of plain's bytes", async () => {
  const run = async (xbzrle: boolean) => {
    const ram = createRam([{ name: "pc.ram", bytes: 4 << 20 }]);
    fillRam(ram, { fill: "random", seed: 1 });
    const w = Workload.fresh({ kind: "hotset", touchesPerSec: 0, writeBytes: 64 }, 3);
    const guest = steppedGuest(ram, w, 60);
    const params = { downtimeLimitMs: 0, maxRounds: 12 };
    const out = await migrate(guest, xbzrle ? { ...params, xbzrleCacheSize: "1MiB" } : params, {
      xbzrle,
    });
    assertEquals(out.src.outcome, "completed", out.src.error);
    assertOk(out.dst.ram && sameRam(ram, out.dst.ram), "destination memory equals source memory");
    return out;
  };
  const plain = await run(false);
  const xb = await run(true);
  assertEquals(plain.src.xbzrle, null);
  const s = xb.src.xbzrle!;
  assertOk(s.pages > 100, `xbzrle pages ${s.pages}`);
  assertEquals(s.cacheSizeBytes, 1 << 20);
  assertOk(s.cacheMisses > 0 && s.cacheMissRate > 0 && s.cacheMissRate < 1);
  assertOk(s.encodingRate > 5, `encoding rate ${s.encodingRate}`);
  assertEquals(xb.src.pages.xbzrle, s.pages);
  assertEquals(xb.dst.pages.xbzrle, s.pages);
  assertEquals(xb.src.bytes.total, xb.dst.receivedBytes);
  // Per-round statistics at every sync after the bulk pass.
  const rounds = xb.src.progress.filter((p) => p.xbzrle);
  assertEquals(rounds.length, xb.src.progress.length);
  assertOk(rounds.some((p) => p.xbzrle!.encodingRate > 5));
  const ratio = afterBulk(xb.src) / afterBulk(plain.src);
  assertOk(
    ratio <= 0.3,
    `xbzrle sent ${(ratio * 100).toFixed(1)} % of plain's bytes after the bulk pass`,
  );
});

Deno.test("engine with xbzrle: a cache far smaller than the guest (collisions, ageing) keeps memory equal", async () => {
  const ram = createRam([{ name: "pc.ram", bytes: 4 << 20 }]);
  fillRam(ram, { fill: "random", seed: 2 });
  ram.blocks[0].bytes.fill(0, 0, 64 * PAGE_SIZE);
  const w = Workload.fresh({ kind: "random", touchesPerSec: 0, writeBytes: 16 }, 4);
  const guest = steppedGuest(ram, w, 300);
  const { src, dst } = await migrate(
    guest,
    { downtimeLimitMs: 0, maxRounds: 6, xbzrleCacheSize: "64KiB", xbzrleOverflowBytes: 20 },
    { xbzrle: true },
  );
  assertEquals(src.outcome, "completed", src.error);
  assertOk(dst.ram && sameRam(ram, dst.ram));
  const s = src.xbzrle!;
  assertEquals(s.cacheSizeBytes, 64 << 10);
  assertOk(s.cacheMissRate > 0.5, `miss rate ${s.cacheMissRate}`);
  assertOk(s.overflows > 0, "pages touched twice overflow a 20-byte limit");
  assertOk(s.pages > 0);
});

Deno.test("engine with compress (and with xbzrle too): compressible guest, memory equal, under half the bytes", async () => {
  const run = async (capabilities: Record<string, boolean>, method = "deflate") => {
    const ram = createRam([{ name: "pc.ram", bytes: 2 << 20 }]);
    fillRam(ram, { fill: "compressible", seed: 5 });
    const w = Workload.fresh({ kind: "hotset", touchesPerSec: 0, writeBytes: 32 }, 6);
    const guest = steppedGuest(ram, w, 30);
    const params: Record<string, unknown> = { downtimeLimitMs: 0, maxRounds: 3 };
    if (capabilities.compress) params.compressMethod = method;
    const out = await migrate(guest, params, capabilities);
    assertEquals(out.src.outcome, "completed", out.src.error);
    assertOk(out.dst.ram && sameRam(ram, out.dst.ram), JSON.stringify(capabilities));
    return out;
  };
  const plain = await run({});
  for (const method of compressMethods()) {
    const c = await run({ compress: true }, method);
    const st = c.src.compression!;
    assertEquals(st.method, method);
    assertOk(st.ratio > 0 && st.ratio < 0.5, `${method} ratio ${st.ratio}`);
    assertOk(st.pages >= c.src.pages.deflate && st.bytesBefore === st.pages * PAGE_SIZE);
    assertOk(st.bytesAfter < c.src.bytes.deflate + c.src.bytes.normal);
    assertOk(c.src.pages.deflate > 500);
    assertEquals(c.dst.pages.deflate, c.src.pages.deflate);
    assertOk(
      c.src.bytes.total < plain.src.bytes.total / 2,
      `${method}: ${c.src.bytes.total} vs ${plain.src.bytes.total}`,
    );
  }
  const both = await run({ compress: true, xbzrle: true });
  assertOk(both.src.pages.xbzrle > 0 && both.src.pages.deflate > 0);
});

Deno.test("engine refuses a stream buffer too small for its longest record, before sending anything", async () => {
  const ram = createRam([{ name: "pc.ram", bytes: 1 << 20 }]);
  fillRam(ram, { fill: "random", seed: 1 });
  const w = Workload.fresh({ kind: "idle", touchesPerSec: 0, writeBytes: 0 }, 1);
  for (
    const [capabilities, bufferBytes, ok] of [
      [{}, 61_515, false],
      [{}, 61_516, true],
      [{ xbzrle: true }, 262_415, false],
      [{ compress: true }, 262_416, true],
    ] as const
  ) {
    const [a, b] = memoryLinkPair();
    const { config } = resolveMigration({ capabilities });
    const [src, dst] = await Promise.all([
      runSource({
        guest: steppedGuest(ram, w, 0),
        link: a,
        clock: systemClock,
        config,
        bufferBytes,
      }),
      runDestination({
        link: b,
        clock: systemClock,
        createRam: (setup) =>
          createRam(setup.blocks.map((x) => ({ name: x.name, bytes: x.pages * PAGE_SIZE }))),
        loadDevice: () => {},
      }),
    ]);
    const what = `${JSON.stringify(capabilities)}, bufferBytes ${bufferBytes}`;
    if (ok) {
      assertEquals(src.outcome, "completed", `${what}: ${src.error}`);
      continue;
    }
    assertEquals(src.outcome, "failed", what);
    assertMatch(
      src.error ?? "",
      new RegExp(`^bufferBytes ${bufferBytes} is too small: .* takes \\d+ bytes$`),
    );
    assertEquals(src.bytes.total, 0, `${what}: nothing sent`);
    assertEquals(src.guestRunning, true);
    assertEquals(dst.outcome, "failed", what);
  }
});
