/**
 * Simulation mode: determinism, the simulated link's timing, faults, the cost
 * model and agreement with real mode (the seed swarm's tests are in src/swarm/swarm_test.ts).
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";
import { runScenario } from "../src/scenario/runner.ts";
import type { Result, Scenario } from "../src/contract/types.ts";

/** The result without `wall`, as bytes. */
function withoutWall(r: Result): string {
  const { wall: _, ...rest } = r;
  return JSON.stringify(rest);
}

const busy: Scenario = {
  name: "sim-busy",
  seed: 11,
  mode: "sim",
  guest: { ram: "32MiB", workload: { kind: "hotset", dirtyRate: "48MiB/s", writeBytes: 64 } },
  migration: { parameters: { downtimeLimitMs: 40, maxBandwidth: "400Mbit" } },
  network: {
    bandwidth: "300Mbit",
    latencyMs: 3,
    jitterMs: 2,
    schedule: [{ atMs: 400, bandwidth: "1Gbit" }],
  },
  faults: [{ at: { phase: "round", round: 1 }, action: "partition", durationMs: 200 }],
  expect: { outcome: "completed", memoryEqual: true },
};

Deno.test("sim: one scenario and seed give a byte-identical result without wall", async () => {
  const a = await runScenario(busy);
  const b = await runScenario(busy);
  assertEquals(a.outcome, "completed", a.error);
  assertEquals(a.memoryEqual, true);
  assertOk(a.rounds! >= 3, `a non-trivial run: ${a.rounds} rounds`);
  assertEquals(a.faults.length, 1);
  assertEquals(withoutWall(a), withoutWall(b));
  const other = await runScenario(busy, { seed: 12 });
  assertOk(withoutWall(other) !== withoutWall(a), "another seed gives another run");
});

Deno.test("sim: a bandwidth-bound transfer takes bytes / bandwidth plus latency", async () => {
  const r = await runScenario({
    name: "sim-wire",
    mode: "sim",
    guest: { ram: "16MiB", fill: "random", workload: { kind: "idle" } },
    network: { bandwidth: "100Mbit", latencyMs: 20 },
    warmupMs: 0,
  });
  assertEquals(r.outcome, "completed", r.error);
  const wireMs = (r.bytes!.total * 8) / 100e6 * 1000;
  // Bulk pass on the wire, one more latency for the last byte, one for the ack.
  const expected = wireMs + 2 * 20;
  assertOk(
    Math.abs(r.totalTimeMs - expected) < 5,
    `total ${r.totalTimeMs.toFixed(1)} ms, expected about ${expected.toFixed(1)} ms`,
  );
});

Deno.test("sim: the cost model charges virtual CPU time per page", async () => {
  const base: Scenario = {
    name: "sim-cost",
    mode: "sim",
    guest: { ram: "16MiB", fill: "random", workload: { kind: "idle" } },
    warmupMs: 0,
  };
  const free = await runScenario(base);
  const costly = await runScenario({ ...base, sim: { cpuCostUs: { normal: 10 } } });
  // 4096 pages at 10 us each: 41 ms of CPU, while the wire (5.8 ms at loopback speed) overlaps it.
  assertOk(free.totalTimeMs < 10, `without costs: ${free.totalTimeMs.toFixed(2)} ms`);
  assertOk(
    Math.abs(costly.totalTimeMs - 40.96) < 3,
    `with costs: ${costly.totalTimeMs.toFixed(2)} ms, expected about 41 ms`,
  );
});

Deno.test("sim: faults end cleanly and lose nothing", async (t) => {
  const small = (faults: Scenario["faults"], extra: Partial<Scenario> = {}): Scenario => ({
    name: "sim-fault",
    seed: 5,
    mode: "sim",
    guest: { ram: "16MiB", workload: { kind: "counter", dirtyRate: "16MiB/s" } },
    migration: { parameters: { peerTimeoutMs: 500, downtimeLimitMs: 20 } },
    network: { bandwidth: "200Mbit" },
    faults,
    ...extra,
  });
  await t.step("cut at round 1: failed, source runs and is intact", async () => {
    const r = await runScenario(small([{ at: { phase: "round", round: 1 }, action: "cut-link" }]));
    assertEquals(r.outcome, "failed");
    assertEquals(r.sourceGuestRunning, true);
    assertEquals(r.memoryEqual, true, "source intact");
    assertEquals(r.counterInvariant?.ok, true);
    assertEquals(r.faults[0].phase, "round");
    assertEquals(r.faults[0].round, 1);
  });
  await t.step("partition shorter than the timeout is ridden out", async () => {
    const r = await runScenario(
      small([{ at: { phase: "bulk" }, action: "partition", durationMs: 300 }]),
    );
    assertEquals(r.outcome, "completed", r.error);
    assertEquals(r.memoryEqual, true);
  });
  await t.step("partition longer than the timeout fails within it", async () => {
    const r = await runScenario(
      small([{ at: { afterMs: 50 }, action: "partition", durationMs: 5_000 }]),
    );
    assertEquals(r.outcome, "failed");
    assertMatch(r.error ?? "", /500 ms/);
    assertOk(r.totalTimeMs < 50 + 500 + 500, `gave up after ${r.totalTimeMs} ms`);
    assertEquals(r.memoryEqual, true, "source intact");
  });
  await t.step("corrupt bytes of an idle guest: failed, never a wrong page", async () => {
    const r = await runScenario({
      ...small([{ at: { afterBytes: 1 << 20 }, action: "corrupt", bytes: 3 }]),
      guest: { ram: "16MiB", workload: { kind: "idle" } },
    });
    assertEquals(r.outcome, "failed");
    assertMatch(r.error ?? "", /checksum/i);
    assertEquals(r.memoryEqual, true, "source intact");
  });
  await t.step("corrupt bytes of pages sent again: the verified copy wins", async () => {
    // The counter workload sweeps every page, so a corrupted page is dirty and goes again.
    const r = await runScenario(
      small([{ at: { afterBytes: 1 << 20 }, action: "corrupt", bytes: 3 }]),
    );
    assertEquals(r.outcome, "completed", r.error);
    assertEquals(r.memoryEqual, true);
    assertEquals(r.counterInvariant?.ok, true);
  });
  await t.step("cancel at stop-and-copy: cancelled, the source resumes", async () => {
    const r = await runScenario(small([{ at: { phase: "stop-and-copy" }, action: "cancel" }]));
    assertEquals(r.outcome, "cancelled");
    assertEquals(r.sourceGuestRunning, true);
    assertEquals(r.memoryEqual, true);
  });
  await t.step("kill the source: failed, no guest judged, destination discarded", async () => {
    const r = await runScenario(small([{ at: { phase: "bulk" }, action: "kill-source" }]));
    assertEquals(r.outcome, "failed");
    assertEquals(r.sourceGuestRunning, false);
    assertEquals(r.memoryEqual, null);
    assertEquals(r.destination?.outcome, "failed");
  });
});

/** Runs a scenario both ways; total time and bytes must agree within 15 %. */
async function assertSimAgreesWithReal(scenario: Scenario): Promise<void> {
  const real = await runScenario(scenario, { mode: "real" });
  const sim = await runScenario(scenario, { mode: "sim" });
  for (const r of [real, sim]) assertEquals(r.outcome, "completed", r.error);
  const off = (a: number, b: number) => Math.abs(a - b) / b;
  assertOk(
    off(sim.totalTimeMs, real.totalTimeMs) <= 0.15,
    `total time: sim ${sim.totalTimeMs.toFixed(0)} ms, real ${real.totalTimeMs.toFixed(0)} ms`,
  );
  assertOk(
    off(sim.bytes!.total, real.bytes!.total) <= 0.15,
    `bytes: sim ${sim.bytes!.total}, real ${real.bytes!.total}`,
  );
}

Deno.test("sim agrees with real mode on a bandwidth-bound run (time and bytes within 15 %)", async () => {
  const scenario: Scenario = {
    name: "agree",
    seed: 9,
    guest: { ram: "48MiB", fill: "random", workload: { kind: "idle" } },
    migration: { parameters: { maxBandwidth: "400Mbit" } },
    warmupMs: 0,
  };
  await assertSimAgreesWithReal(scenario);
});

Deno.test("sim agrees with real mode through a shaped link (200 Mbit/s, a busy guest)", async () => {
  const scenario: Scenario = {
    name: "agree-network",
    seed: 9,
    guest: {
      ram: "32MiB",
      fill: "random",
      workload: { kind: "hotset", dirtyRate: "8MiB/s", writeBytes: 512 },
    },
    network: { bandwidth: "200Mbit", latencyMs: 2 },
    warmupMs: 100,
  };
  await assertSimAgreesWithReal(scenario);
});

Deno.test("the real-mode fault matrix, unchanged, meets every expectation in sim mode", async () => {
  const { faultMatrix } = await import("../scenarios/faults/matrix.ts");
  const rows = faultMatrix();
  assertOk(rows.length >= 60, `${rows.length} rows`);
  for (const row of rows) {
    const r = await runScenario(row.scenario, { mode: "sim" });
    const failed = r.expectations.filter((e) => !e.ok).map((e) => `${e.name}: ${e.detail}`);
    assertEquals(failed, [], `${row.scenario.name} in sim mode`);
    assertEquals(r.faults.length, row.scenario.faults!.length, `${row.scenario.name}: fired`);
    if (row.attempts) assertEquals(r.attempts?.length, row.attempts, `${row.scenario.name}`);
  }
});
