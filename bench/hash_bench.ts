/**
 * Checkpoint-assisted migration (hashDedup), in one run:
 *
 * 1. native SHA-256 (node:crypto, one call per 4 KiB page) over 1 GiB of pages;
 * 2. the source's hash path over the same pages: hash, look the prefix up in
 *    the destination's summary (90 % of the pages), write a HASH record (or
 *    remember the page); the stream goes to a sink that discards it;
 * 3. a 1 GiB idle guest between real peer processes over a shaped 1 Gbit/s
 *    link, its destination holding a Ferry checkpoint that matches 90 % of
 *    its pages, against plain precopy on the same guest.
 *
 * Aims: the hash path at 80 % or more of native SHA-256; the 90 % case at
 * least 3x faster than plain. The first touch of the 1 GiB buffer (the
 * kernel backing fresh memory) is printed beside the throughputs.
 * @module
 */
import { PAGE_SIZE } from "../src/contract/page.ts";
import { runScenario } from "../src/scenario/runner.ts";
import { resolveScenario } from "../src/scenario/validate.ts";
import { scenarioSeeds } from "../src/scenario/seeds.ts";
import { bootGuest } from "../src/guest/replay.ts";
import { createRam } from "../src/guest/ram.ts";
import type { Result, Scenario } from "../src/contract/types.ts";
import { sha256Into } from "../src/engine/sha256.ts";
import { HashDedupSource } from "../src/engine/hash_dedup.ts";
import { StreamWriter } from "../src/stream/writer.ts";
import { HASH_RECORD_BYTES_MAX, writeHashRecord } from "../src/stream/records.ts";
import { ferryCheckpointPieces } from "../src/stream/checkpoint_file.ts";
import { systemClock } from "../src/util/clock.ts";
import type { Link } from "../src/contract/ports.ts";

const GiB = 1024 ** 3;
const PAGES = GiB / PAGE_SIZE;

/** A link that takes every write and never answers. */
const sink: Link = {
  write: () => Promise.resolve(),
  read: () => new Promise(() => {}),
  close: () => {},
};

/** Parts 1 and 2: SHA-256 and the source's hash path over 1 GiB of pages (GB/s). */
export async function hashPathBench(): Promise<{ nativeGBps: number; pathGBps: number }> {
  let t = performance.now();
  const ram = createRam([{ name: "pc.ram", bytes: GiB }]);
  const bytes = ram.blocks[0].bytes;
  for (let off = 0; off < GiB; off += PAGE_SIZE) bytes[off] = 1; // first touch
  const touchMs = performance.now() - t;
  // Distinct pages: random 64 KiB repeated, each page's first 8 bytes its number.
  crypto.getRandomValues(bytes.subarray(0, 65536));
  for (let off = 65536; off < GiB; off += 65536) bytes.copyWithin(off, 0, 65536);
  const view = new DataView(bytes.buffer);
  for (let p = 0; p < PAGES; p++) view.setFloat64(p * PAGE_SIZE, p + 1);

  const digests = new Uint8Array(PAGES * 32);
  t = performance.now();
  for (let p = 0; p < PAGES; p++) {
    sha256Into(bytes.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), digests, p * 32);
  }
  const nativeMs = performance.now() - t;

  // The destination's summary: 90 % of the pages (every tenth one missing).
  const summary = new Uint32Array(PAGES * 2);
  const dv = new DataView(digests.buffer);
  let n = 0;
  for (let p = 0; p < PAGES; p++) {
    if (p % 10 === 9) continue;
    summary[2 * n] = dv.getUint32(p * 32);
    summary[2 * n + 1] = dv.getUint32(p * 32 + 4);
    n++;
  }
  const src = new HashDedupSource(ram, systemClock);
  src.handlers.onSummary!(null, summary.subarray(0, 2 * n));
  const w = new StreamWriter(sink);
  await w.ramBegin(0);
  let hits = 0;
  t = performance.now();
  for (let p = 0; p < PAGES; p++) {
    if (src.consider(p, bytes, p * PAGE_SIZE)) {
      if (w.free < HASH_RECORD_BYTES_MAX) await w.flush();
      writeHashRecord(w, 0, p, src.digest, 0);
      hits++;
    }
  }
  await w.flush();
  const pathMs = performance.now() - t;
  const gbps = (ms: number) => GiB / (ms / 1000) / 1e9;
  console.log(
    `first touch of 1 GiB: ${touchMs.toFixed(0)} ms (${gbps(touchMs).toFixed(2)} GB/s)`,
  );
  console.log(
    `native SHA-256, 1 GiB of 4 KiB pages: ${nativeMs.toFixed(0)} ms, ${
      gbps(nativeMs).toFixed(3)
    } GB/s`,
  );
  console.log(
    `source hash path (hash + lookup + record), ${hits} hits of ${PAGES}: ${
      pathMs.toFixed(0)
    } ms, ${gbps(pathMs).toFixed(3)} GB/s = ${
      (nativeMs / pathMs * 100).toFixed(0)
    } % of native (aim >= 80 %)`,
  );
  return { nativeGBps: gbps(nativeMs), pathGBps: gbps(pathMs) };
}

const GUEST: Scenario = {
  name: "bench-hash-1g",
  seed: 1,
  mode: "real",
  guest: { ram: "1GiB", fill: "random", workload: { kind: "idle" } },
  network: { bandwidth: "1Gbit" },
  warmupMs: 0,
  settleMs: 0,
  expect: { outcome: "completed", memoryEqual: true },
};

/** Part 3: a 1 GiB guest whose checkpoint matches 90 % of its pages, against plain precopy. */
export async function hashMigrationBench(): Promise<{ hashMs: number; plainMs: number }> {
  const r = resolveScenario(GUEST).resolved!;
  const { ram } = bootGuest({
    blocks: [{ name: "pc.ram", bytes: r.ramBytes }],
    fill: r.fill,
    seeds: scenarioSeeds(r.seed).guest,
    workload: r.workload,
    balloon: r.balloon,
  });
  const bytes = ram.blocks[0].bytes;
  // Every tenth page of the checkpoint differs from the guest.
  for (let off = 9 * PAGE_SIZE; off < bytes.length; off += 10 * PAGE_SIZE) bytes[off + 17] ^= 0x5a;
  const dir = await Deno.makeTempDir({ prefix: "ferry-bench-" });
  try {
    const path = `${dir}/checkpoint.ferry`;
    const f = await Deno.open(path, { write: true, create: true });
    for (const piece of ferryCheckpointPieces([bytes])) {
      for (let at = 0; at < piece.length;) at += await f.write(piece.subarray(at));
    }
    f.close();
    const hash = await runScenario({
      ...GUEST,
      migration: { capabilities: { hashDedup: true } },
      destination: { checkpoint: { source: "file", path, format: "ferry" } },
    });
    const plain = await runScenario(GUEST);
    const line = (label: string, x: Result) => {
      if (x.outcome !== "completed" || !x.memoryEqual) {
        throw new Error(`${label}: ${x.outcome} ${x.error ?? ""}; memory equal: ${x.memoryEqual}`);
      }
      const h = x.hash;
      console.log(
        `${label.padEnd(22)} ${(x.totalTimeMs / 1000).toFixed(2)} s, ${
          (x.bytes!.total / 2 ** 20).toFixed(0)
        } MiB sent` +
          (h
            ? `, ${h.checkpointHits} checkpoint hits, ${h.unresolved} unresolved, hashing: source ${
              h.sourceHashMs?.toFixed(0)
            } ms, destination ${h.destinationHashMs?.toFixed(0)} ms, index ${
              h.checkpointIndexMs?.toFixed(0)
            } ms (before the migration)`
            : ""),
      );
    };
    line("hashDedup, 90 % match", hash);
    line("plain precopy", plain);
    console.log(
      `speed-up over 1 Gbit/s: ${(plain.totalTimeMs / hash.totalTimeMs).toFixed(2)}x (aim >= 3x)`,
    );
    return { hashMs: hash.totalTimeMs, plainMs: plain.totalTimeMs };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs every part. */
export async function runHashBench(): Promise<void> {
  await hashPathBench();
  await hashMigrationBench();
}

if (import.meta.main) await runHashBench();
