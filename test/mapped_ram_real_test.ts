/**
 * Mapped-ram and the file transport between real peers: the source peer
 * saves its running guest to a file, a fresh destination peer restores it,
 * and the restored guest is judged against the source at stop.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";
import { runScenario } from "../src/scenario/runner.ts";
import type { FileFigures, Result, Scenario } from "../src/contract/types.ts";

const MiB = 1024 * 1024;

function busy(mappedRam: boolean, extra: Partial<Scenario> = {}): Scenario {
  return {
    name: mappedRam ? "real-mapped-ram-busy" : "real-file-stream-busy",
    seed: 5,
    mode: "real",
    guest: { ram: "32MiB", workload: { kind: "random", dirtyRate: "64MiB/s", writeBytes: 64 } },
    migration: {
      capabilities: { mappedRam },
      parameters: { downtimeLimitMs: 0, maxRounds: 10 },
      transport: { kind: "file" },
    },
    expect: { outcome: "completed", memoryEqual: true },
    ...extra,
  };
}

const figures = (r: Result) => r.file as FileFigures;
const clean = (r: Result) =>
  assertEquals(r.cleanup, { processesLeft: [], tempFilesLeft: [], namespacesLeft: [] });

Deno.test("real mapped-ram: a busy guest saved over 10 rounds in place, restored by a fresh destination, equal", async () => {
  const r = await runScenario(busy(true));
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  assertEquals(r.rounds, 12);
  const f = figures(r);
  assertOk(f.sizeBytes <= 32 * MiB + 4 * MiB, `size ${f.sizeBytes}`);
  assertOk(f.pagesRewritten > 0, `rewritten ${f.pagesRewritten}`);
  assertOk(f.saveMs !== null && f.restoreMs !== null, JSON.stringify(f));
  assertEquals(r.sourceGuestRunning, false);
  assertEquals(r.destinationGuestRunning, true);
  clean(r);
});

Deno.test("real file stream: the stream file grows past the RAM and restores through the destination engine", async () => {
  const r = await runScenario(busy(false));
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  assertEquals(figures(r).sizeBytes, r.bytes!.total);
  assertOk(figures(r).sizeBytes > 36 * MiB, `size ${figures(r).sizeBytes}`);
  clean(r);
});

Deno.test("real mapped-ram: a full disk fails the save, the source guest running and intact, nothing restored", async () => {
  const s = busy(true, { expect: { outcome: "failed" } });
  s.migration!.transport = { kind: "file", sizeLimit: "8MiB" };
  const r = await runScenario(s);
  assertEquals(r.outcome, "failed");
  assertMatch(r.error ?? "", /No space left on device/);
  assertEquals(r.memoryEqual, true, "the source guest is intact against a replay");
  assertEquals(r.sourceGuestRunning, true);
  assertEquals(r.destinationGuestRunning, false);
  assertEquals(figures(r).restoreMs, null);
  clean(r);
});

Deno.test("real mapped-ram: the source killed mid-save leaves a named file that restore refuses", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/killed.ferry`;
    const s = busy(true, {
      faults: [{ at: { phase: "round", round: 2 }, action: "kill-source" }],
      expect: { outcome: "failed", guestLost: true },
    });
    s.migration!.transport = { kind: "file", path };
    const r = await runScenario(s);
    assertEquals(r.outcome, "failed");
    assertEquals(r.guestLost, true);
    assertEquals(r.destinationGuestRunning, false);
    clean(r);
    // The file stays (the scenario named it), and is refused whole.
    const { restoreFromFile } = await import("../src/engine/file_restore.ts");
    const { openFilePort } = await import("../src/net/file_port.ts");
    const { createRam, PAGE_SIZE } = await import("../src/guest/ram.ts");
    const { systemClock } = await import("../src/util/clock.ts");
    const file = await openFilePort(path, { write: false });
    const back = await restoreFromFile({
      file,
      layout: "mapped",
      clock: systemClock,
      createRam: (x) =>
        createRam(x.blocks.map((b) => ({ name: b.name, bytes: b.pages * PAGE_SIZE }))),
      loadDevice: () => {},
    });
    file.close();
    assertEquals(back.outcome, "failed");
    assertMatch(back.error ?? "", /refused/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
