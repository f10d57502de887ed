import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { memoryLinkPair } from "../net/link.ts";
import { systemClock } from "../util/clock.ts";
import { createRam, PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import { fillRam } from "../guest/fill.ts";
import { Workload } from "../guest/workload.ts";
import { ferryCheckpointHeader, memoryAccess } from "../stream/checkpoint_file.ts";
import { resolveMigration } from "./capabilities.ts";
import { runSource, type SourceGuest } from "./source.ts";
import { runDestination } from "./destination.ts";
import { CheckpointIndex, type HeldCheckpoint } from "./checkpoint_index.ts";
import { HashWorkers, type PageHasher } from "./hash_workers.ts";

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
      return Promise.resolve(new TextEncoder().encode(JSON.stringify(workload.state())));
    },
    cont() {
      running = true;
      return Promise.resolve();
    },
  };
}

/** A Ferry checkpoint file of `ram` as it stands. */
function checkpointOf(ram: Ram): Uint8Array {
  const file = new Uint8Array(PAGE_SIZE + ram.totalPages * PAGE_SIZE);
  file.set(ferryCheckpointHeader(ram.totalPages));
  let at = PAGE_SIZE;
  for (const b of ram.blocks) {
    file.set(b.bytes, at);
    at += b.bytes.length;
  }
  return file;
}

async function migrate(
  guest: SourceGuest,
  checkpoint: HeldCheckpoint | undefined,
  capabilities: Record<string, boolean> = { hashDedup: true },
  hasher: PageHasher | null = null,
) {
  const [a, b] = memoryLinkPair();
  const { config, errors } = resolveMigration({ capabilities });
  assertEquals(errors, []);
  const [src, dst] = await Promise.all([
    runSource({ guest, link: a, clock: systemClock, config, hasher }),
    runDestination({
      link: b,
      clock: systemClock,
      checkpoint,
      createRam: (setup) =>
        createRam(setup.blocks.map((x) => ({ name: x.name, bytes: x.pages * PAGE_SIZE }))),
      loadDevice: () => {},
    }),
  ]);
  return { src, dst };
}

function sameRam(a: Ram, b: Ram): boolean {
  return a.blocks.every((blk, i) => blk.bytes.every((v, j) => v === b.blocks[i].bytes[j]));
}

function guestRam(seed: number): Ram {
  const ram = createRam([{ name: "pc.ram", bytes: 4 << 20 }]);
  fillRam(ram, { fill: "random", seed });
  return ram;
}

Deno.test("hashDedup: a guest back where its checkpoint is goes mostly as hashes, memory equal", async () => {
  const ram = guestRam(1);
  const file = checkpointOf(ram);
  const w = Workload.fresh({ kind: "hotset", touchesPerSec: 0, writeBytes: 64 }, 3);
  w.touch(ram, new DirtyLog(ram.totalPages), 100); // changed since the checkpoint
  const index = CheckpointIndex.build(memoryAccess(file), "ferry");
  const { src, dst } = await migrate(steppedGuest(ram, w, 20), { index, reason: null, indexMs: 0 });
  assertEquals(src.outcome, "completed", src.error);
  assertEquals(dst.outcome, "completed", dst.error);
  assertOk(dst.ram && sameRam(ram, dst.ram), "memory equal");
  const h = dst.hash!;
  assertOk(h.checkpointHits! >= ram.totalPages - 120, `checkpoint hits ${h.checkpointHits}`);
  assertEquals(h.unresolved, 0);
  assertEquals(src.pages.hash, h.checkpointHits! + h.receivedHits!);
  assertEquals(src.bytes.hash, dst.bytes.hash);
  assertOk(src.bytes.total < ram.totalPages * PAGE_SIZE / 4, `sent ${src.bytes.total} bytes`);
  assertEquals(src.hash?.fallback, null);
});

Deno.test("hashDedup: hashing in workers over the shared RAM gives the same migration", async () => {
  const ram = guestRam(1);
  const file = checkpointOf(ram);
  const w = Workload.fresh({ kind: "hotset", touchesPerSec: 0, writeBytes: 64 }, 3);
  w.touch(ram, new DirtyLog(ram.totalPages), 100);
  // Every tenth page of the checkpoint lies: requests and full copies, with digests from the workers.
  const index = CheckpointIndex.build(memoryAccess(file), "ferry");
  for (let p = 0; p < ram.totalPages; p += 10) file[PAGE_SIZE + p * PAGE_SIZE + 5] ^= 0xff;
  const pool = HashWorkers.start(ram, 2);
  try {
    const { src, dst } = await migrate(
      steppedGuest(ram, w, 20),
      { index, reason: null, indexMs: 0 },
      { hashDedup: true },
      pool,
    );
    assertEquals(src.outcome, "completed", src.error);
    assertEquals(dst.outcome, "completed", dst.error);
    assertOk(dst.ram && sameRam(ram, dst.ram), "memory equal");
    const h = dst.hash!;
    assertOk(h.checkpointHits! >= ram.totalPages * 0.8, `checkpoint hits ${h.checkpointHits}`);
    assertOk(h.unresolved! >= 90, `unresolved ${h.unresolved}`);
    assertEquals(src.pages.hash, h.checkpointHits! + h.receivedHits! + h.unresolved!);
  } finally {
    pool.close();
  }
});

Deno.test("hashDedup: a checkpoint of another guest gives no checkpoint hits, memory equal", async () => {
  const ram = guestRam(1);
  const index = CheckpointIndex.build(memoryAccess(checkpointOf(guestRam(2))), "ferry");
  const w = Workload.fresh({ kind: "idle", touchesPerSec: 0, writeBytes: 64 }, 3);
  const { src, dst } = await migrate(steppedGuest(ram, w, 0), { index, reason: null, indexMs: 0 });
  assertEquals(dst.outcome, "completed", dst.error);
  assertOk(dst.ram && sameRam(ram, dst.ram));
  assertEquals(dst.hash?.checkpointHits, 0);
  assertEquals(src.pages.hash, 0);
});

Deno.test("hashDedup: pages already received resolve hashes of the same content", async () => {
  const ram = guestRam(1);
  // Pages 100..199 hold what pages 0..99 hold: they go as hashes of pages just sent.
  ram.blocks[0].bytes.copyWithin(100 * PAGE_SIZE, 0, 100 * PAGE_SIZE);
  const index = CheckpointIndex.build(memoryAccess(checkpointOf(guestRam(2))), "ferry");
  const w = Workload.fresh({ kind: "idle", touchesPerSec: 0, writeBytes: 64 }, 3);
  const { src, dst } = await migrate(steppedGuest(ram, w, 0), { index, reason: null, indexMs: 0 });
  assertEquals(dst.outcome, "completed", dst.error);
  assertOk(dst.ram && sameRam(ram, dst.ram));
  assertEquals(dst.hash?.receivedHits, 100);
  assertEquals(src.pages.hash, 100);
});

Deno.test("hashDedup: a checkpoint that lies (its pages changed after indexing) never installs wrong content", async () => {
  const ram = guestRam(1);
  const file = checkpointOf(ram);
  const index = CheckpointIndex.build(memoryAccess(file), "ferry");
  // Every 10th page of the file changes after it was indexed.
  for (let p = 0; p < ram.totalPages; p += 10) file[PAGE_SIZE + p * PAGE_SIZE + 5] ^= 0xff;
  const w = Workload.fresh({ kind: "idle", touchesPerSec: 0, writeBytes: 64 }, 3);
  const { src, dst } = await migrate(steppedGuest(ram, w, 0), { index, reason: null, indexMs: 0 });
  assertEquals(src.outcome, "completed", src.error);
  assertEquals(dst.outcome, "completed", dst.error);
  assertOk(dst.ram && sameRam(ram, dst.ram), "memory equal");
  const lies = Math.ceil(ram.totalPages / 10);
  assertEquals(dst.hash?.unresolved, lies);
  assertEquals(src.hash?.requests, lies);
  assertEquals(dst.hash?.checkpointHits, ram.totalPages - lies);
});

Deno.test("hashDedup: no usable checkpoint falls back to plain precopy, reported", async () => {
  const ram = guestRam(1);
  const w = Workload.fresh({ kind: "idle", touchesPerSec: 0, writeBytes: 64 }, 3);
  const { src, dst } = await migrate(steppedGuest(ram, w, 0), {
    index: null,
    reason: "checkpoint truncated",
    indexMs: null,
  });
  assertEquals(dst.outcome, "completed", dst.error);
  assertOk(dst.ram && sameRam(ram, dst.ram));
  assertEquals(src.hash?.fallback, "checkpoint truncated");
  assertEquals(dst.hash?.fallback, "checkpoint truncated");
  assertEquals(src.pages.hash, 0);
  assertEquals(src.hash?.sourceHashMs, 0);
});

Deno.test("hashDedup and xbzrle cannot be combined", () => {
  const { errors } = resolveMigration({ capabilities: { hashDedup: true, xbzrle: true } });
  assertEquals(errors.length, 1);
  assertMatch(errors[0], /hashDedup and xbzrle cannot be combined/);
});
