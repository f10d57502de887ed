/**
 * Integration tests: real peer processes over loopback, started by the runner.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../src/util/assert.ts";
import { runScenario } from "../src/scenario/runner.ts";
import type { Scenario } from "../src/contract/types.ts";

Deno.test("an idle guest migrates: memory equal, one bulk pass, zero pages as one-byte records", async () => {
  const r = await runScenario({
    name: "idle",
    guest: { ram: "32MiB", fill: "zero", workload: { kind: "idle" } },
    warmupMs: 0,
  });
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  assertEquals(r.passed, true);
  assertEquals(r.pages!.zero, 8192);
  assertOk(r.bytes!.zero <= 8192 + 6, `zero pages cost ${r.bytes!.zero} bytes`);
  assertEquals(r.converged, true, "an idle guest leaves nothing dirty after the bulk pass");
  assertEquals(r.forcedStop, false);
  // The guest stops on the source before the destination can resume it.
  assertOk(r.downtimeMs !== null && r.downtimeMs > 0, `downtime ${r.downtimeMs} ms`);
  assertEquals(r.destination?.outcome, "completed");
});

Deno.test("a busy guest converges: memory equal, downtime within the limit, workload resumes on the destination", async () => {
  const r = await runScenario({
    name: "busy",
    seed: 7,
    guest: { ram: "64MiB", workload: { kind: "hotset", dirtyRate: "32MiB/s", writeBytes: 128 } },
    migration: { parameters: { downtimeLimitMs: 300 } },
    settleMs: 200,
    expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300 },
  });
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true, r.mismatchedAddresses.join(", "));
  assertEquals(r.passed, true, JSON.stringify(r.expectations));
  assertOk(r.downtimeMs! <= 300, `downtime ${r.downtimeMs} ms`);
  assertEquals(r.progress.length, r.iterations);
  assertOk(
    (r.destination?.touchesAfterResume ?? 0) > 0,
    "the workload kept running on the destination",
  );
  assertEquals(
    r.bytes!.total,
    r.bytes!.normal + r.bytes!.zero + (r.bytes!.overhead ?? 0) + (r.bytes!.xbzrle ?? 0) +
      (r.bytes!.deflate ?? 0),
  );
});

/** A counter guest dirtying memory faster than a 40 MiB/s limit lets the source send it. */
const hopeless = (onNoConvergence: "cancel" | "force"): Scenario => ({
  name: `no-convergence-${onNoConvergence}`,
  seed: 3,
  guest: { ram: "8MiB", workload: { kind: "counter", dirtyRate: "128MiB/s" } },
  migration: {
    parameters: { downtimeLimitMs: 1, maxBandwidth: "40MiB/s", maxRounds: 3, onNoConvergence },
  },
  expect: onNoConvergence === "cancel"
    ? { outcome: "cancelled", memoryEqual: true }
    : { outcome: "completed", memoryEqual: true, downtimeMsMax: 1 },
});

Deno.test("no convergence with policy cancel: cancelled, the source guest still runs and is intact", async () => {
  const r = await runScenario(hopeless("cancel"));
  assertEquals(r.outcome, "cancelled", r.error);
  assertMatch(r.error ?? "", /Did not converge after 3 rounds/);
  assertEquals(r.sourceGuestRunning, true);
  assertEquals(r.memoryEqual, true, "the source guest equals a replay of its own workload");
  assertEquals((r.counterInvariant as { ok: boolean }).ok, true);
  assertEquals(r.downtimeMs, null);
  assertEquals(r.passed, true, JSON.stringify(r.expectations));
});

Deno.test("no convergence with policy force: completes, memory equal, downtime over the limit fails the expectation", async () => {
  const r = await runScenario(hopeless("force"));
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.forcedStop, true);
  assertEquals(r.memoryEqual, true);
  assertEquals((r.counterInvariant as { ok: boolean }).ok, true);
  assertOk(r.downtimeMs! > 1, `downtime ${r.downtimeMs} ms`);
  const dt = r.expectations.find((e) => e.name === "downtimeMsMax")!;
  assertEquals(dt.ok, false);
  assertEquals(r.passed, false);
});

Deno.test("an invalid scenario is refused with every error at once", async () => {
  let error: Error | null = null;
  try {
    await runScenario({
      name: "bad name",
      guest: { ram: "12Zib", workload: { kind: "nope" as never } },
      migration: { parameters: { downtimeLimitMs: -1, bogus: 1 } },
    });
  } catch (e) {
    error = e as Error;
  }
  assertOk(error instanceof TypeError);
  for (
    const field of [
      "name:",
      "guest.ram:",
      "guest.workload.kind:",
      "migration.parameters.downtimeLimitMs:",
      "migration.parameters.bogus:",
    ]
  ) {
    assertOk(error!.message.includes(field), `names ${field}: ${error!.message}`);
  }
});
