import { assertEquals, assertRejects } from "../util/assert.ts";
import type { FaultSpec } from "../contract/types.ts";
import { FaultSchedule } from "./schedule.ts";
import { type FaultTargets, injectFault } from "./inject.ts";

const at = (bytes: number, atMs: number) => ({ bytes, atMs });

Deno.test("schedule: phase triggers fire once, at their phase and round", () => {
  const s = new FaultSchedule([
    { at: { phase: "round" }, action: "cancel" },
    { at: { phase: "round", round: 3 }, action: "cut-link" },
    { at: { phase: "stop-and-copy" }, action: "kill-source" },
    { at: { phase: "resume" }, action: "kill-destination" },
  ]);
  assertEquals(s.sourceHolds.sort(), ["round", "stop-and-copy"]);
  assertEquals(s.holdsResume, true);
  assertEquals(s.phase("setup", 0, at(0, 0)), []);
  assertEquals(s.phase("bulk", 0, at(100, 1)), []);
  const r1 = s.phase("round", 1, at(5000, 20));
  assertEquals(r1.map((f) => [f.index, f.phase, f.round, f.bytes, f.atMs]), [
    [0, "round", 1, 5000, 20],
  ]);
  assertEquals(s.phase("round", 2, at(6000, 30)), []);
  assertEquals(s.phase("round", 3, at(7000, 40)).map((f) => f.index), [1]);
  assertEquals(s.phase("round", 3, at(7000, 40)), [], "fires once");
  assertEquals(s.phase("stop-and-copy", 4, at(8000, 50)).map((f) => f.index), [2]);
  assertEquals(s.phase("resume", 4, at(9000, 60)).map((f) => f.index), [3]);
  assertEquals(s.pending(), []);
  assertEquals(s.fired.map((f) => f.index), [0, 1, 2, 3]);
});

Deno.test("schedule: a round the migration never reaches leaves its fault pending", () => {
  const s = new FaultSchedule([{ at: { phase: "round", round: 9 }, action: "cancel" }]);
  s.phase("round", 1, at(1, 1));
  s.phase("stop-and-copy", 2, at(2, 2));
  assertEquals(s.pending().map((p) => p.index), [0]);
});

Deno.test("schedule: byte and time triggers fire when reached, with the phase as last seen", () => {
  const faults: FaultSpec[] = [
    { at: { afterBytes: 2000 }, action: "corrupt", bytes: 2 },
    { at: { afterBytes: 1000 }, action: "stop-source", durationMs: 10 },
    { at: { afterMs: 300 }, action: "partition", durationMs: 100 },
    { at: { afterMs: 100 }, action: "cancel" },
  ];
  const s = new FaultSchedule(faults);
  assertEquals(s.byteMarks, [1000, 2000]);
  assertEquals(s.sourceHolds, []);
  assertEquals(s.nextTimeMs(), 100);
  s.phase("bulk", 0, at(50, 5));
  assertEquals(s.bytes(999, 6), []);
  const b = s.bytes(2500, 7);
  assertEquals(b.map((f) => [f.index, f.phase, f.bytes]), [[0, "bulk", 2500], [1, "bulk", 2500]]);
  assertEquals(s.time(99, 3000), []);
  assertEquals(s.time(150, 3000).map((f) => f.index), [3]);
  assertEquals(s.nextTimeMs(), 300);
  s.phase("round", 1, at(4000, 200));
  assertEquals(s.time(301, 4100).map((f) => [f.index, f.phase, f.round]), [[2, "round", 1]]);
  assertEquals(s.nextTimeMs(), null);
});

Deno.test("inject: each action reaches its target with its parameters", async () => {
  const calls: string[] = [];
  const t: FaultTargets = {
    cutLink: (b) => void calls.push(`cut ${b}`),
    partition: (ms, b) => void calls.push(`partition ${ms} ${b}`),
    corrupt: (n, b) => void calls.push(`corrupt ${n} ${b}`),
    kill: (r) => void calls.push(`kill ${r}`),
    stop: (r, ms) => void calls.push(`stop ${r} ${ms}`),
    cancel: () => void calls.push("cancel"),
  };
  const faults: FaultSpec[] = [
    { at: { afterMs: 0 }, action: "cut-link" },
    { at: { afterMs: 0 }, action: "partition", durationMs: 5 },
    { at: { afterMs: 0 }, action: "corrupt", bytes: 3 },
    { at: { afterMs: 0 }, action: "corrupt" },
    { at: { afterMs: 0 }, action: "kill-source" },
    { at: { afterMs: 0 }, action: "kill-destination" },
    { at: { afterMs: 0 }, action: "stop-source", durationMs: 6 },
    { at: { afterMs: 0 }, action: "stop-destination", durationMs: 7 },
    { at: { afterMs: 0 }, action: "cancel" },
  ];
  for (const f of faults) await injectFault(f, 42, t);
  assertEquals(calls, [
    "cut 42",
    "partition 5 42",
    "corrupt 3 42",
    "corrupt 1 42",
    "kill source",
    "kill destination",
    "stop source 6",
    "stop destination 7",
    "cancel",
  ]);
  await assertRejects(
    () => injectFault({ action: "storage-stall" as never }, 0, t),
    /has no injector/,
  );
});
