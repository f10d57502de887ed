/**
 * Mapped-ram (docs/mapped_ram.md): saving a 1 GiB random guest to a file on
 * the local disk and restoring it, between real peer processes, against `cp`
 * of a 1 GiB file in the same run (and against `cp` followed by `sync` of
 * the copy, since the save syncs its file before the end record); and a
 * busy guest over 10 rounds, whose mapped-ram file stays within RAM + 4 MiB
 * while the plain stream to a file grows. The machine's first-touch memory
 * cost (faulting in fresh pages) is printed beside the throughputs.
 *
 * Aims: save and restore each at 50 % or more of `cp`'s throughput.
 * @module
 */
import { runScenario } from "../src/scenario/runner.ts";
import type { FileFigures, Result, Scenario } from "../src/contract/types.ts";

const GiB = 1024 ** 3, MiB = 1024 ** 2;

/** Bytes per second of faulting in and writing one byte per page of fresh memory. */
function firstTouchBytesPerSec(bytes = GiB): number {
  const t0 = performance.now();
  const a = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4096) a[i] = 1;
  return bytes / ((performance.now() - t0) / 1000);
}

async function run(cmd: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (code !== 0) throw new Error(`${cmd} failed: ${new TextDecoder().decode(stderr)}`);
}

/** `cp` of a 1 GiB random file in `dir`: throughput alone, and with the copy synced. */
async function cpBytesPerSec(dir: string): Promise<{ cp: number; cpSync: number }> {
  const src = `${dir}/src.bin`;
  const f = await Deno.open(src, { write: true, create: true });
  const chunk = new Uint8Array(4 * MiB);
  for (let off = 0; off < GiB; off += chunk.length) {
    crypto.getRandomValues(chunk.subarray(0, 65536));
    for (let k = 65536; k < chunk.length; k += 65536) chunk.copyWithin(k, 0, 65536);
    chunk[0] = off / chunk.length; // no two chunks alike
    await f.write(chunk);
  }
  f.close();
  await run("sync", [src]);
  let t = performance.now();
  await run("cp", [src, `${dir}/a.bin`]);
  const cp = GiB / ((performance.now() - t) / 1000);
  t = performance.now();
  await run("cp", [src, `${dir}/b.bin`]);
  await run("sync", [`${dir}/b.bin`]);
  const cpSync = GiB / ((performance.now() - t) / 1000);
  for (const n of ["src.bin", "a.bin", "b.bin"]) await Deno.remove(`${dir}/${n}`);
  return { cp, cpSync };
}

function fileScenario(name: string, path: string, extra: Partial<Scenario>): Scenario {
  return {
    name,
    seed: 1,
    mode: "real",
    guest: { ram: "1GiB", fill: "random", workload: { kind: "idle" } },
    migration: { capabilities: { mappedRam: true }, transport: { kind: "file", path } },
    warmupMs: 0,
    settleMs: 0,
    ...extra,
  };
}

function checked(label: string, r: Result): FileFigures {
  if (r.outcome !== "completed" || !r.memoryEqual || !r.file) {
    throw new Error(`${label}: ${r.outcome} ${r.error ?? ""}; memory equal: ${r.memoryEqual}`);
  }
  return r.file as FileFigures;
}

const gbps = (bytesPerSec: number) => `${(bytesPerSec / 1e9).toFixed(2)} GB/s`;

/** Runs the file benchmark and prints its table. */
export async function runFileBench(): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-file-bench-" });
  try {
    const touch = firstTouchBytesPerSec();
    const { cp, cpSync } = await cpBytesPerSec(dir);
    const save = checked(
      "save 1 GiB",
      await runScenario(fileScenario("bench-mapped-ram-1g", `${dir}/guest.ferry`, {})),
    );
    // The saved file read back by cp (to /dev/null, and to a copy), after the run: the
    // reference for the restore, whose read is of this file in the same cache state.
    let t = performance.now();
    await run("cp", [`${dir}/guest.ferry`, "/dev/null"]);
    const readBack = GiB / ((performance.now() - t) / 1000);
    t = performance.now();
    await run("cp", [`${dir}/guest.ferry`, `${dir}/copy.ferry`]);
    const cpSaved = GiB / ((performance.now() - t) / 1000);
    await Deno.remove(`${dir}/guest.ferry`);
    await Deno.remove(`${dir}/copy.ferry`);
    const saveRate = GiB / (save.saveMs! / 1000);
    const restoreRate = GiB / (save.restoreMs! / 1000);
    console.log(`first-touch memory   ${gbps(touch)} (fresh pages faulted in, this machine)`);
    console.log(`cp 1 GiB             ${gbps(cp)}   cp + sync ${gbps(cpSync)}`);
    console.log(
      `mapped-ram save      ${gbps(saveRate)}  (${(saveRate / cp * 100).toFixed(0)} % of cp, ${
        (saveRate / cpSync * 100).toFixed(0)
      } % of cp + sync; aim 50 %)  file ${(save.sizeBytes / MiB).toFixed(1)} MiB`,
    );
    console.log(
      `mapped-ram restore   ${gbps(restoreRate)}  (${
        (restoreRate / cp * 100).toFixed(0)
      } % of cp; aim 50 %)  saved file read back after the run: cp to /dev/null ${
        gbps(readBack)
      }, cp to a copy ${gbps(cpSaved)}`,
    );
    // A busy guest over 10 rounds: mapped-ram in place, against the stream to a file.
    const busy = (mappedRam: boolean) =>
      runScenario(fileScenario(`bench-busy-${mappedRam ? "mapped" : "stream"}`, "", {
        guest: { ram: "256MiB", workload: { kind: "random", dirtyRate: "256MiB/s" } },
        migration: {
          capabilities: { mappedRam },
          parameters: { downtimeLimitMs: 0, maxRounds: 10 },
          transport: { kind: "file" },
        },
      }));
    const mapped = checked("busy mapped-ram", await busy(true));
    const stream = checked("busy stream file", await busy(false));
    const limit = 256 * MiB + 4 * MiB;
    console.log(
      `busy 256 MiB, 10 rounds: mapped-ram file ${(mapped.sizeBytes / MiB).toFixed(1)} MiB (limit ${
        limit / MiB
      } MiB: ${
        mapped.sizeBytes <= limit ? "within" : "OVER"
      }), ${mapped.pagesRewritten} pages rewritten, ${
        (mapped.writtenBytes / MiB).toFixed(0)
      } MiB written; stream file ${(stream.sizeBytes / MiB).toFixed(1)} MiB`,
    );
    return {
      firstTouchBytesPerSec: touch,
      cpBytesPerSec: cp,
      cpSyncBytesPerSec: cpSync,
      readBackBytesPerSec: readBack,
      cpSavedBytesPerSec: cpSaved,
      saveBytesPerSec: saveRate,
      restoreBytesPerSec: restoreRate,
      busyMappedBytes: mapped.sizeBytes,
      busyStreamBytes: stream.sizeBytes,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await runFileBench();
