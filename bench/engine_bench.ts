/**
 * Engine throughput over loopback between two real peer processes: a
 * random-content 1 GiB guest, an idle (zero) 1 GiB guest, and, in the same
 * run, raw loopback TCP between two Deno processes for reference.
 *
 * Aims: random guest at 70 % or more of raw loopback; idle guest at 2 GB/s or
 * more; each peer's memory at most 1.25 x guest RAM + 64 MiB.
 * @module
 */
import { runScenario } from "../src/scenario/runner.ts";
import type { Result } from "../src/contract/types.ts";

const GiB = 1024 ** 3;

/** Measures raw loopback TCP throughput between this process and a sink process (bytes per second). */
export async function rawLoopbackBytesPerSec(totalBytes = GiB): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./loopback_sink.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const port = Number(new TextDecoder().decode(value).trim());
  reader.releaseLock();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunk = new Uint8Array(1024 * 1024).fill(7);
  const t0 = performance.now();
  for (let sent = 0; sent < totalBytes; sent += chunk.length) {
    let off = 0;
    while (off < chunk.length) off += await conn.write(chunk.subarray(off));
  }
  await conn.closeWrite();
  const buf = new Uint8Array(64);
  const n = await conn.read(buf);
  const ms = performance.now() - t0;
  conn.close();
  await child.stdout.cancel().catch(() => {});
  await child.status;
  if (Number(new TextDecoder().decode(buf.subarray(0, n ?? 0))) !== totalBytes) {
    throw new Error("The sink lost bytes");
  }
  return (totalBytes * 1000) / ms;
}

function migrate(name: string, fill: "random" | "zero"): Promise<Result> {
  return runScenario({
    name,
    seed: 1,
    guest: { ram: "1GiB", fill, workload: { kind: "idle" } },
    warmupMs: 0,
    settleMs: 0,
  });
}

/** Runs the engine benchmark and prints a table. */
export async function runEngineBench(): Promise<Record<string, number>> {
  const raw = await rawLoopbackBytesPerSec();
  const random = await migrate("bench-random-1g", "random");
  const idle = await migrate("bench-idle-1g", "zero");
  const row = (label: string, r: Result) => {
    if (r.outcome !== "completed" || !r.memoryEqual) {
      throw new Error(
        `${label}: migration ${r.outcome}${
          r.error ? `: ${r.error}` : ""
        }; memory equal: ${r.memoryEqual}`,
      );
    }
    const gbps = GiB / (r.totalTimeMs / 1000) / 1e9;
    const rss = r.wall.rssBytesMax as { source: number; destination: number };
    const pagesPerSec = (GiB / 4096) / (r.totalTimeMs / 1000);
    const budget = 1.25 * GiB + 64 * 1024 ** 2;
    console.log(
      `${label.padEnd(14)} ${gbps.toFixed(2).padStart(6)} GB/s  ${
        (pagesPerSec / 1e3).toFixed(0).padStart(6)
      } kpages/s  ` +
        `source ${(rss.source / 2 ** 20).toFixed(0)} MiB, destination ${
          (rss.destination / 2 ** 20).toFixed(0)
        } MiB ` +
        `(budget ${(budget / 2 ** 20).toFixed(0)} MiB)  memory ${
          r.memoryEqual ? "equal" : "DIFFERS"
        }`,
    );
    return gbps;
  };
  console.log(
    `raw loopback   ${(raw / 1e9).toFixed(2).padStart(6)} GB/s (two Deno processes, 1 MiB writes)`,
  );
  const rg = row("random 1 GiB", random);
  const ig = row("idle 1 GiB", idle);
  console.log(
    `ratio random / raw loopback: ${((rg * 1e9) / raw * 100).toFixed(0)} % (aim >= 70 %)`,
  );
  console.log(`idle guest: ${ig.toFixed(2)} GB/s (aim >= 2 GB/s)`);
  return { rawGBps: raw / 1e9, randomGBps: rg, idleGBps: ig };
}

if (import.meta.main) await runEngineBench();
