/**
 * The fault matrix between real peers (scenarios/faults/matrix.ts): every
 * action at every phase, silent peers, byte and time triggers, silent
 * corruption, retry. Each row must meet its scenario's expectations (outcome,
 * memory equal or intact, source guest running, destination discarded,
 * every fault fired, nothing left behind), and the report must say what
 * fired, where and what followed.
 * @module
 */
import { assertEquals, assertOk } from "../src/util/assert.ts";
import { runScenario } from "../src/scenario/runner.ts";
import type { Result } from "../src/contract/types.ts";
import { faultMatrix, MATRIX_PEER_TIMEOUT_MS } from "../scenarios/faults/matrix.ts";

/** Slack over the peer timeout for noticing a silent peer on a shared machine. */
const DETECTION_SLACK_MS = 1500;

const failures = (r: Result) =>
  r.expectations.filter((e) => !e.ok).map((e) => `${e.name}: ${e.detail}`).join("; ") +
  `\nfaults: ${JSON.stringify(r.faults, null, 1)}`;

const started = performance.now();
let rows = 0;

for (const row of faultMatrix()) {
  const s = row.scenario;
  const f = s.faults![0];
  Deno.test(`fault matrix: ${s.name} -> ${s.expect?.outcome}`, async () => {
    const r = await runScenario(s);
    rows++;
    assertEquals(r.passed, true, failures(r));
    assertEquals(r.faults.length, 1, "the fault fired once");
    const fired = r.faults[0];
    assertEquals(fired.action, f.action);
    if ("phase" in f.at) {
      assertEquals(fired.phase, f.at.phase);
      if (f.at.round !== undefined) assertEquals(fired.round, f.at.round);
    }
    if ("afterBytes" in f.at) assertEquals(fired.bytes, f.at.afterBytes);
    if ("afterMs" in f.at) assertOk(fired.firedAtMs >= f.at.afterMs, `fired at ${fired.firedAtMs}`);
    assertOk(fired.observed.length > 0);
    if (r.outcome !== "completed") {
      assertOk(r.destination?.resumed !== true, "the destination never resumed the guest");
      if (!s.expect?.guestLost) {
        assertEquals(r.sourceGuestRunning, true);
        assertEquals(r.memoryEqual, true, "the source guest equals a replay of its workload");
        if (r.counterInvariant !== null) assertEquals(r.counterInvariant?.ok, true);
      }
    }
    if (row.silent) {
      const noticed = Math.min(
        fired.endedAfterMs ?? Infinity,
        fired.destinationEndedAfterMs ?? Infinity,
      );
      assertOk(
        noticed <= MATRIX_PEER_TIMEOUT_MS + DETECTION_SLACK_MS,
        `the silent peer was noticed ${noticed} ms after the fault`,
      );
      assertOk(/silent|no ack/i.test(r.error ?? ""), r.error);
    }
    if (row.attempts) assertEquals(r.attempts?.length, row.attempts);
    assertEquals(r.cleanup, { processesLeft: [], tempFilesLeft: [], namespacesLeft: [] });
  });
}

Deno.test("fault matrix: size and time", () => {
  const seconds = (performance.now() - started) / 1000;
  console.log(`fault matrix: ${rows} rows in ${seconds.toFixed(1)} s`);
  assertEquals(rows, faultMatrix().length);
});
