/**
 * Checkpoint-assisted migration (capability hashDedup, issue 12), whole runs:
 * a guest migrated away and back, a checkpoint of another guest, an ELF core
 * in QEMU's layout, unusable checkpoints (plain precopy, reported), in
 * simulation and between real peers.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";
import { runScenario } from "../src/scenario/runner.ts";
import { resolveScenario } from "../src/scenario/validate.ts";
import { scenarioSeeds } from "../src/scenario/seeds.ts";
import { bootGuest } from "../src/guest/replay.ts";
import type { Result, Scenario } from "../src/contract/types.ts";
import { ferryCheckpointPieces } from "../src/stream/checkpoint_file.ts";
import { elfCore } from "../src/stream/elf_core_test_util.ts";
import { scenario as back } from "../scenarios/hash-dedup-back.ts";
import { scenario as backPlain } from "../scenarios/hash-dedup-back-plain.ts";

const PAGE = 4096;

/** An idle 16 MiB guest over 1 Gbit, hashDedup on, with `checkpoint`. */
function idle(name: string, checkpoint: NonNullable<Scenario["destination"]>["checkpoint"]) {
  return {
    name,
    seed: 7,
    mode: "sim",
    guest: { ram: "16MiB", fill: "random", workload: { kind: "idle" } },
    migration: { capabilities: { hashDedup: checkpoint !== undefined } },
    network: { bandwidth: "1Gbit" },
    destination: checkpoint ? { checkpoint } : {},
    expect: { outcome: "completed", memoryEqual: true },
  } satisfies Scenario;
}

/** The RAM the guest of `s` boots with (its fill), as the worlds make it. */
function bootedRam(s: Scenario): Uint8Array {
  const r = resolveScenario(s).resolved!;
  const { ram } = bootGuest({
    blocks: [{ name: "pc.ram", bytes: r.ramBytes }],
    fill: r.fill,
    seeds: scenarioSeeds(r.seed).guest,
    workload: r.workload,
    balloon: r.balloon,
  });
  return ram.blocks[0].bytes;
}

function ok(r: Result): void {
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  assertOk(r.passed, JSON.stringify(r.expectations));
}

Deno.test("hashDedup sim: a guest back where its checkpoint is sends a fraction of plain precopy's bytes, 3x faster", async () => {
  const h = await runScenario(back, { mode: "sim" });
  const p = await runScenario(backPlain, { mode: "sim" });
  ok(h);
  ok(p);
  const pages = 128 * 256;
  assertOk(h.hash!.checkpointHits! >= 0.8 * pages, `checkpoint hits ${h.hash!.checkpointHits}`);
  assertEquals(h.hash!.fallback, null);
  assertEquals(
    h.pages!.hash,
    h.hash!.checkpointHits! + h.hash!.receivedHits! + h.hash!.unresolved!,
  );
  assertOk(h.bytes!.total * 3 < p.bytes!.total, `${h.bytes!.total} B against ${p.bytes!.total} B`);
  assertOk(h.totalTimeMs * 3 < p.totalTimeMs, `${h.totalTimeMs} ms against ${p.totalTimeMs} ms`);
  assertEquals(p.hash, undefined);
  assertEquals(p.bytes!.hash, undefined);
});

Deno.test("hashDedup sim: a checkpoint of another guest finds nothing and costs no more than plain", async () => {
  const other = idle("other", undefined);
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/other.ferry`;
    const f = await Deno.open(path, { write: true, create: true });
    for (const piece of ferryCheckpointPieces([bootedRam({ ...other, seed: 8 })])) {
      await f.write(piece);
    }
    f.close();
    const h = await runScenario(idle("hash-other", { source: "file", path, format: "ferry" }));
    const p = await runScenario(other);
    ok(h);
    ok(p);
    assertEquals(h.hash!.checkpointHits, 0);
    assertEquals(h.hash!.checkpointPages, 4096);
    assertEquals(h.pages!.hash, 0);
    assertEquals(h.bytes!.total, p.bytes!.total);
    // Virtual time: hashing costs nothing there; the summary crosses the link once.
    assertOk(
      h.totalTimeMs <= p.totalTimeMs * 1.05 + 1,
      `${h.totalTimeMs} against ${p.totalTimeMs}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashDedup sim: an ELF core of the guest in QEMU's layout (two PT_LOADs, ELF64 and ELF32 big-endian)", async () => {
  const s0 = idle("hash-elf", undefined);
  const ram = bootedRam(s0);
  const dir = await Deno.makeTempDir();
  try {
    for (const [class64, littleEndian] of [[true, true], [false, false]]) {
      const path = `${dir}/guest.elf`;
      // Below and above a hole, as a PC's RAM is dumped.
      const ranges = [ram.subarray(0, 1024 * PAGE), ram.subarray(1024 * PAGE)];
      await Deno.writeFile(path, elfCore({ class64, littleEndian, ranges }));
      const h = await runScenario(idle("hash-elf", { source: "file", path, format: "elf" }));
      ok(h);
      assertEquals(h.hash!.fallback, null);
      assertEquals(h.hash!.checkpointHits, 4096, `class64 ${class64}`);
      assertEquals(h.pages!.normal, 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashDedup sim: a missing or truncated checkpoint falls back to plain precopy, reported", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await runScenario(
      idle("hash-missing", { source: "file", path: `${dir}/none.elf`, format: "elf" }),
    );
    ok(missing);
    assertMatch(missing.hash!.fallback!, /checkpoint unusable: cannot open .*none\.elf/);
    assertEquals(missing.pages!.hash, 0);
    assertEquals(missing.hash!.checkpointPages, null);
    const path = `${dir}/cut.elf`;
    const ram = bootedRam(idle("x", undefined));
    const elf = elfCore({ ranges: [ram] });
    await Deno.writeFile(path, elf.subarray(0, elf.length - 100));
    const cut = await runScenario(idle("hash-cut", { source: "file", path, format: "elf" }));
    ok(cut);
    assertMatch(cut.hash!.fallback!, /ELF file truncated: PT_LOAD 1/);
    assertEquals(cut.pages!.hash, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashDedup real: a guest back where its checkpoint is, between peer processes; the checkpoint file is removed", async () => {
  const r = await runScenario({ ...back, guest: { ...back.guest, ram: "64MiB" } }, {
    mode: "real",
  });
  ok(r);
  assertOk(r.hash!.checkpointHits! >= 0.8 * 64 * 256, `checkpoint hits ${r.hash!.checkpointHits}`);
  assertEquals(r.hash!.fallback, null);
  assertOk(r.hash!.sourceHashMs! > 0 && r.hash!.destinationHashMs! > 0);
  assertEquals(r.cleanup?.tempFilesLeft, []);
});

Deno.test("hashDedup sim: a section still in flight over a slow link is not a silent destination", async () => {
  // Swarm draw 565 of seed 3be21f8: compressed pages over 10 Mbit/s and a 500 ms peer timeout;
  // the source waited for the section's requests while its bytes were still arriving.
  const r = await runScenario({
    "name": "hash-dedup-slow-link",
    "seed": 7826792570884861,
    "mode": "sim",
    "guest": {
      "ram": "16MiB",
      "fill": "zero",
      "workload": { "kind": "sequential", "dirtyRate": "128MiB/s", "writeBytes": 512 },
    },
    "migration": {
      "capabilities": { "compress": true, "hashDedup": true },
      "parameters": {
        "compressMethod": "deflate",
        "compressLevel": 6,
        "downtimeLimitMs": 5,
        "maxRounds": 5,
        "maxTimeMs": 10000,
        "onNoConvergence": "force",
        "peerTimeoutMs": 500,
      },
    },
    "network": { "bandwidth": "20Mbit", "schedule": [{ "atMs": 300, "bandwidth": "10Mbit" }] },
    "faults": [],
    "warmupMs": 200,
    "settleMs": 50,
    "destination": { "checkpoint": { "source": "guest", "atMs": 0 } },
  } as Scenario);
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
});
