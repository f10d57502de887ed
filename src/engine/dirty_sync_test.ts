import { assertEquals } from "../util/assert.ts";
import { createRam } from "../guest/ram.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import { systemClock } from "../util/clock.ts";
import type { HintBatch, HintSource } from "./free_page_hints.ts";
import { DirtySync } from "./dirty_sync.ts";

/** A hint source that answers each request with pages 0..7 free, and records the calls. */
function recordingSource(calls: string[]): HintSource {
  let waiting: HintBatch | null = null;
  return {
    name: "test",
    request(id) {
      calls.push(`request ${id}`);
      waiting = { commandId: id, ranges: new Float64Array([0, 8 * 4096]), count: 1, done: true };
    },
    take() {
      const b = waiting;
      waiting = null;
      if (b) calls.push(`take ${b.commandId}`);
      return b;
    },
    stop() {
      calls.push("stop");
    },
  };
}

Deno.test("dirty sync: the bulk pass takes every page; a sync retires hints before the log; the last one stops them first", () => {
  const ram = createRam([{ name: "pc.ram", bytes: 64 * 4096 }]);
  const log = new DirtyLog(ram.totalPages);
  const calls: string[] = [];
  const guest = {
    ram,
    syncDirtyLog: (into: Parameters<DirtyLog["syncInto"]>[0]) => {
      calls.push("log");
      return log.syncInto(into);
    },
  };
  const d = new DirtySync(guest, {
    clock: systemClock,
    hints: recordingSource(calls),
    hintTimeoutMs: 60_000,
  });
  log.mark(3);
  d.markAll();
  assertEquals(d.bitmap.count(), 64);
  d.requestHints();
  d.pollHints();
  assertEquals(d.bitmap.count(), 56, "pages 0..7 hinted free");
  d.bitmap.words.fill(0); // the pass went
  log.mark(3);
  log.mark(40);
  d.requestHints();
  assertEquals(d.sync(), 2);
  assertEquals(
    d.bitmap.count(),
    2,
    "the retired request's hints went before the log sync: they cannot clear what it brings",
  );
  d.requestHints();
  log.mark(4);
  assertEquals(d.syncStopped(), 1);
  assertEquals(
    d.bitmap.count(),
    2,
    "page 3 hinted free by the request issued after it came; page 4 from the stopped sync stays",
  );
  assertEquals(calls, [
    "log",
    "request 1",
    "take 1",
    "request 2",
    "take 2",
    "log",
    "request 3",
    "take 3",
    "stop",
    "log",
  ]);
  assertEquals(d.hintStats()?.requests, 3);
  assertEquals(d.hintProgress()?.hintPagesSkipped, 8 + 0 + 1);
});

Deno.test("dirty sync: without a hint source, hints are a no-op and report null", () => {
  const ram = createRam([{ name: "pc.ram", bytes: 8 * 4096 }]);
  const log = new DirtyLog(ram.totalPages);
  const d = new DirtySync({ ram, syncDirtyLog: (into) => log.syncInto(into) }, {
    clock: systemClock,
    hintTimeoutMs: 1,
  });
  d.requestHints();
  d.pollHints();
  d.stopHints();
  assertEquals([d.hinting, d.hintStats(), d.hintProgress()], [false, null, null]);
});
