import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { memoryLinkPair } from "../net/link.ts";
import { memoryFilePort } from "../net/file_port.ts";
import type { FilePort } from "../contract/ports.ts";
import { systemClock } from "../util/clock.ts";
import { createRam, PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import { fillRam } from "../guest/fill.ts";
import { Workload } from "../guest/workload.ts";
import { resolveMigration } from "./capabilities.ts";
import { runSource, type SourceGuest } from "./source.ts";
import { type FileLayout, runFileSink } from "./file_sink.ts";
import { restoreFromFile } from "./file_restore.ts";

const MiB = 1024 * 1024;

/** The pages (as "block:page") where `a` and `b` differ; a short list, not a diff of megabytes. */
function differingPages(a: Uint8Array[], b: Uint8Array[]): string[] {
  const out: string[] = [];
  a.forEach((x, i) => {
    if (x.length !== b[i]?.length) out.push(`${i}: length ${x.length} vs ${b[i]?.length}`);
    else {
      for (let p = 0; p < x.length && out.length < 8; p += 4096) {
        for (let k = p; k < p + 4096; k++) {
          if (x[k] !== b[i][k]) {
            out.push(`${i}:${p / 4096}`);
            break;
          }
        }
      }
    }
  });
  return out;
}

/** A guest stepped by the test; `atStop` holds a copy of its RAM when the source stops it. */
function steppedGuest(ram: Ram, workload: Workload, touchesPerSync: number) {
  const log = new DirtyLog(ram.totalPages);
  let running = true;
  const seen = { atStop: null as Uint8Array[] | null, device: null as Uint8Array | null };
  const guest: SourceGuest = {
    ram,
    syncDirtyLog(into) {
      if (running) workload.touch(ram, log, touchesPerSync);
      return log.syncInto(into);
    },
    stop() {
      running = false;
      seen.atStop = ram.blocks.map((b) => b.bytes.slice());
      seen.device = new TextEncoder().encode(JSON.stringify(workload.state()));
      return Promise.resolve(seen.device);
    },
    cont() {
      running = true;
      return Promise.resolve();
    },
  };
  return { guest, seen };
}

function busyGuest(touches = 60) {
  const ram = createRam([{ name: "pc.ram", bytes: 4 * MiB }, {
    name: "vga.vram",
    bytes: 256 << 10,
  }]);
  fillRam(ram, { fill: "random", seed: 1 });
  ram.blocks[0].bytes.fill(0, 512 * PAGE_SIZE, 768 * PAGE_SIZE); // zero pages
  const w = Workload.fresh({ kind: "hotset", touchesPerSec: 0, writeBytes: 64 }, 3);
  return { ram, ...steppedGuest(ram, w, touches) };
}

async function save(
  guest: SourceGuest,
  file: FilePort,
  layout: FileLayout,
  parameters: Record<string, unknown> = { downtimeLimitMs: 0, maxRounds: 10 },
  signal?: AbortSignal,
) {
  const [a, b] = memoryLinkPair();
  const { config, errors } = resolveMigration({
    capabilities: { mappedRam: layout === "mapped" },
    parameters,
    transport: { kind: "file" },
  });
  assertEquals(errors, []);
  const [src, sink] = await Promise.all([
    runSource({ guest, link: a, clock: systemClock, config, signal }),
    runFileSink({ link: b, clock: systemClock, file, layout }),
  ]);
  return { src, sink };
}

async function restore(file: FilePort, layout: FileLayout) {
  let device: Uint8Array | null = null;
  const r = await restoreFromFile({
    file,
    layout,
    clock: systemClock,
    createRam: (s) =>
      createRam(s.blocks.map((x) => ({ name: x.name, bytes: x.pages * PAGE_SIZE }))),
    loadDevice: (d) => {
      device = d;
    },
  });
  return { ...r, device };
}

Deno.test("file sink, mapped: a busy guest saved over 10 rounds in place, restored equal to the source at stop", async () => {
  const { ram, guest, seen } = busyGuest();
  const file = memoryFilePort();
  const { src, sink } = await save(guest, file, "mapped");
  assertEquals(src.outcome, "completed", src.error);
  assertEquals(sink.outcome, "completed", sink.error);
  assertEquals(src.rounds >= 10, true, `rounds ${src.rounds}`);
  const f = sink.file!;
  assertOk(f.pagesRewritten > 0, `pages rewritten ${f.pagesRewritten}`);
  assertOk(f.sizeBytes <= ram.totalBytes + 4 * MiB, `size ${f.sizeBytes}`);
  assertEquals(f.sizeBytes, await file.size());
  const back = await restore(file, "mapped");
  assertEquals(back.outcome, "completed", back.error);
  assertEquals(differingPages(back.ram!.blocks.map((b) => b.bytes), seen.atStop!), []);
  assertEquals(back.device, seen.device);
  // Zero pages are not in the file: it holds exactly the pages non-zero at stop.
  let nonZero = 0;
  for (const b of seen.atStop!) {
    for (let p = 0; p < b.length; p += PAGE_SIZE) {
      if (b.subarray(p, p + PAGE_SIZE).some((x) => x !== 0)) nonZero++;
    }
  }
  assertOk(nonZero < ram.totalPages - 200, `non-zero pages ${nonZero}`);
  assertEquals(back.pages, nonZero);
});

Deno.test("file sink, stream: the file grows with every round, and restores through the destination", async () => {
  const { ram, guest, seen } = busyGuest();
  const file = memoryFilePort();
  const { src, sink } = await save(guest, file, "stream");
  assertEquals(sink.outcome, "completed", sink.error);
  assertEquals(sink.file!.sizeBytes, src.bytes.total);
  assertOk(sink.file!.sizeBytes > ram.totalBytes, `size ${sink.file!.sizeBytes}`);
  const back = await restore(file, "stream");
  assertEquals(back.outcome, "completed", back.error);
  assertEquals(differingPages(back.ram!.blocks.map((b) => b.bytes), seen.atStop!), []);
});

Deno.test("file sink: a full disk fails the save cleanly, the source guest running and intact, the file refused", async () => {
  const { ram, guest } = busyGuest(0);
  const before = ram.blocks.map((b) => b.bytes.slice());
  const file = memoryFilePort({ sizeLimitBytes: 3 * MiB });
  const { src, sink } = await save(guest, file, "mapped");
  assertEquals(sink.outcome, "failed");
  assertMatch(sink.error ?? "", /No space left on device/);
  assertEquals(src.outcome, "failed");
  assertMatch(src.error ?? "", /No space left on device/);
  assertEquals(src.guestRunning, true);
  assertEquals(ram.blocks.map((b) => b.bytes), before);
  const back = await restore(file, "mapped");
  assertEquals(back.outcome, "failed");
  assertEquals(back.ram, null);
  assertMatch(back.error ?? "", /refused/);
});

Deno.test("file sink: a save cancelled mid-way leaves a file restore refuses, nothing loaded", async () => {
  const { guest } = busyGuest();
  const file = memoryFilePort();
  const ctl = new AbortController();
  let writes = 0;
  const counting: FilePort = {
    ...file,
    pwrite: (d, o) => {
      if (++writes === 20) ctl.abort("cancelled by the test");
      return file.pwrite(d, o);
    },
  };
  const { src, sink } = await save(guest, counting, "mapped", undefined, ctl.signal);
  assertEquals(src.outcome, "cancelled");
  assertEquals(src.guestRunning, true);
  assertEquals(sink.outcome, "failed");
  const back = await restore(file, "mapped");
  assertEquals(back.outcome, "failed");
  assertEquals(back.ram, null);
  assertMatch(back.error ?? "", /cut short|no end record/);
});

Deno.test("file sink: a mapped-ram file refuses a stream with a page encoder's records", async () => {
  const { guest } = busyGuest();
  const [a, b] = memoryLinkPair();
  const { config } = resolveMigration({ capabilities: { xbzrle: true } });
  const [src, sink] = await Promise.all([
    runSource({ guest, link: a, clock: systemClock, config }),
    runFileSink({ link: b, clock: systemClock, file: memoryFilePort(), layout: "mapped" }),
  ]);
  assertEquals(sink.outcome, "failed");
  assertMatch(sink.error ?? "", /cannot hold/);
  assertEquals(src.outcome, "failed");
  assertEquals(src.guestRunning, true);
});

Deno.test("file sink: a page whose CRC-32 fails and is never sent again fails the save, the file refused", async () => {
  const ram = createRam([{ name: "pc.ram", bytes: 4 * MiB }]);
  fillRam(ram, { fill: "random", seed: 2 });
  const w = Workload.fresh({ kind: "idle", touchesPerSec: 0, writeBytes: 1 }, 1);
  const { guest } = steppedGuest(ram, w, 0);
  const [a, b] = memoryLinkPair();
  // One byte flipped in the first run's page data (under its page's CRC, not the section's).
  let sent = 0;
  const flipping: typeof a = {
    ...a,
    write(data) {
      const at = 65536 - sent;
      sent += data.length;
      if (at >= 0 && at < data.length) {
        const copy = data.slice();
        copy[at] ^= 1;
        return a.write(copy);
      }
      return a.write(data);
    },
  };
  const { config } = resolveMigration({
    capabilities: { mappedRam: true },
    transport: { kind: "file" },
  });
  const file = memoryFilePort();
  const [src, sink] = await Promise.all([
    runSource({ guest, link: flipping, clock: systemClock, config }),
    runFileSink({ link: b, clock: systemClock, file, layout: "mapped" }),
  ]);
  assertEquals(sink.outcome, "failed");
  assertMatch(sink.error ?? "", /1 page\(s\) failed their checksum and were not sent again/);
  assertEquals(src.outcome, "failed");
  assertEquals(src.guestRunning, true);
  assertEquals((await restore(file, "mapped")).outcome, "failed");
});

Deno.test("file sink: a page written, then zeroed by the guest, restores as zero (its bit cleared)", async () => {
  const ram = createRam([{ name: "pc.ram", bytes: 1 * MiB }]);
  fillRam(ram, { fill: "random", seed: 3 });
  const log = new DirtyLog(ram.totalPages);
  let syncs = 0;
  const guest: SourceGuest = {
    ram,
    syncDirtyLog(into) {
      // After the bulk pass (the first sync is markAll clearing the log), the guest zeroes 10..19.
      if (syncs++ === 1) {
        ram.blocks[0].bytes.fill(0, 10 * PAGE_SIZE, 20 * PAGE_SIZE);
        for (let p = 10; p < 20; p++) log.mark(p);
      }
      return log.syncInto(into);
    },
    stop: () => Promise.resolve(new Uint8Array([1])),
    cont: () => Promise.resolve(),
  };
  const file = memoryFilePort();
  const { src, sink } = await save(guest, file, "mapped");
  assertEquals(sink.outcome, "completed", sink.error);
  assertEquals(src.pages.zero, 10, "the zeroed pages went again, as zero pages");
  const back = await restore(file, "mapped");
  assertEquals(back.outcome, "completed", back.error);
  assertEquals(differingPages(back.ram!.blocks.map((b) => b.bytes), [ram.blocks[0].bytes]), []);
  assertEquals(back.pages, ram.totalPages - 10);
});
