/**
 * Mapped-ram and the file transport in simulation: save a running guest to a
 * file, restore it into a fresh destination, judge the restored guest.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";
import { runScenario } from "../src/scenario/runner.ts";
import type { FileFigures, Result, Scenario } from "../src/contract/types.ts";

const MiB = 1024 * 1024;

function busy(mappedRam: boolean, extra: Partial<Scenario> = {}): Scenario {
  return {
    name: mappedRam ? "sim-mapped-ram-busy" : "sim-file-stream-busy",
    seed: 7,
    mode: "sim",
    guest: { ram: "16MiB", workload: { kind: "random", dirtyRate: "400MiB/s", writeBytes: 64 } },
    migration: {
      capabilities: { mappedRam },
      parameters: { downtimeLimitMs: 0, maxRounds: 10 },
      transport: { kind: "file", bandwidth: "200MiB/s" },
    },
    expect: { outcome: "completed", memoryEqual: true },
    ...extra,
  };
}

const figures = (r: Result) => r.file as FileFigures;

Deno.test("sim mapped-ram: a busy guest saved over 10 rounds stays within RAM + 4 MiB, restored equal", async () => {
  const r = await runScenario(busy(true));
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  assertEquals(r.passed, true);
  assertEquals(r.forcedStop, true);
  assertEquals(r.rounds, 12); // the bulk pass, rounds 1..10, the stop-and-copy
  const f = figures(r);
  assertOk(f.sizeBytes <= 16 * MiB + 4 * MiB, `size ${f.sizeBytes}`);
  assertOk(f.pagesRewritten > 0, `rewritten ${f.pagesRewritten}`);
  assertOk(f.writtenBytes > f.sizeBytes / 2, `written ${f.writtenBytes}`);
  assertOk(f.saveMs !== null && f.saveMs > 0 && f.restoreMs !== null && f.restoreMs > 0);
  assertOk(f.writeBytesPerSec !== null && f.writeBytesPerSec <= 200 * MiB * 1.01);
  assertEquals(r.sourceGuestRunning, false);
  assertEquals(r.destinationGuestRunning, true);
});

Deno.test("sim file stream: without mapped-ram the file grows past the RAM with every round", async () => {
  const r = await runScenario(busy(false));
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  const f = figures(r);
  assertEquals(f.sizeBytes, r.bytes!.total);
  assertOk(f.sizeBytes > 16 * MiB + 4 * MiB, `size ${f.sizeBytes}`);
  assertEquals(f.pagesRewritten, 0);
});

Deno.test("sim mapped-ram: a zero-heavy idle guest writes only its non-zero pages", async () => {
  const r = await runScenario(busy(true, {
    guest: { ram: "64MiB", fill: "zero", workload: { kind: "idle" } },
  }));
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  const f = figures(r);
  // Nothing but metadata and the device state was written.
  assertOk(f.writtenBytes < 1 * MiB, `written ${f.writtenBytes}`);
  assertEquals(f.pagesRewritten, 0);
  assertEquals(r.pages!.normal, 0);
});

Deno.test("sim mapped-ram: a full disk fails the save, the source guest running and intact, nothing restored", async () => {
  const s = busy(true, { expect: { outcome: "failed" } });
  s.migration!.transport = { kind: "file", sizeLimit: "8MiB" };
  const r = await runScenario(s);
  assertEquals(r.outcome, "failed");
  assertMatch(r.error ?? "", /No space left on device/);
  assertEquals(r.memoryEqual, true, "the source guest is intact against a replay");
  assertEquals(r.sourceGuestRunning, true);
  assertEquals(r.destinationGuestRunning, false);
  assertEquals(figures(r).saveMs, null);
  assertEquals(figures(r).restoreMs, null);
});

Deno.test("sim mapped-ram: the source killed mid-save leaves a file restore never loads", async () => {
  const s = busy(true, {
    faults: [{ at: { phase: "round", round: 2 }, action: "kill-source" }],
    expect: { outcome: "failed", guestLost: true },
  });
  const r = await runScenario(s);
  assertEquals(r.outcome, "failed");
  assertEquals(r.guestLost, true);
  assertEquals(r.destinationGuestRunning, false);
  assertEquals(figures(r).restoreMs, null);
});

Deno.test("sim mapped-ram: cancelled mid-save, the source guest runs on intact", async () => {
  const s = busy(true, {
    faults: [{ at: { phase: "round", round: 3 }, action: "cancel" }],
    expect: { outcome: "cancelled", memoryEqual: true },
  });
  const r = await runScenario(s);
  assertEquals(r.outcome, "cancelled");
  assertEquals(r.memoryEqual, true);
  assertEquals(r.sourceGuestRunning, true);
  assertEquals(r.destinationGuestRunning, false);
});

Deno.test("sim mapped-ram: a named file stays after the run and is a whole mapped-ram file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/saved.ferry`;
    const s = busy(true);
    s.migration!.transport = { kind: "file", path };
    const r = await runScenario(s);
    assertEquals(r.outcome, "completed", r.error);
    const st = await Deno.stat(path);
    assertEquals(st.size, figures(r).sizeBytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
