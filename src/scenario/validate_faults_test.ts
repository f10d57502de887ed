import { assertEquals, assertOk } from "../util/assert.ts";
import { resolveScenario } from "./validate.ts";

const errorsOf = (s: Record<string, unknown>) =>
  resolveScenario({ name: "v", guest: { ram: "4MiB" }, ...s }).errors;

Deno.test("validate: shaping and faults are accepted in real mode", () => {
  const { resolved, errors } = resolveScenario({
    name: "v",
    mode: "real",
    network: {
      bandwidth: "100Mbit",
      latencyMs: 5,
      jitterMs: 1,
      schedule: [{ atMs: 3000, bandwidth: "10Mbit" }],
    },
    faults: [
      { at: { phase: "round", round: 2 }, action: "cut-link" },
      { at: { afterBytes: 1000 }, action: "partition", durationMs: 200 },
      { at: { afterMs: 50 }, action: "corrupt", bytes: 4 },
    ],
    retry: true,
    expect: { outcome: "failed", memoryEqual: null, guestLost: true },
  });
  assertEquals(errors, []);
  assertEquals(resolved!.network.bandwidthBytesPerSec, 12_500_000);
  assertEquals(resolved!.network.burstBytes, 125_000);
  assertEquals(resolved!.network.schedule, [{ atMs: 3000, bandwidthBytesPerSec: 1_250_000 }]);
  assertEquals(resolved!.faults.length, 3);
});

Deno.test("validate: kernel shaping refuses what it cannot do, naming the field", () => {
  const e1 = errorsOf({
    network: { kernel: true },
    faults: [{ at: { phase: "bulk" }, action: "corrupt", bytes: 1 }],
  });
  assertEquals(e1.length, 1);
  assertOk(e1[0].startsWith("faults[0].action: corrupt needs the userspace link"), e1[0]);
  const e2 = errorsOf({ mode: "sim", network: { kernel: true } });
  assertEquals(e2, ["network.kernel: kernel shaping exists in real mode only"]);
});

Deno.test("validate: fault and expectation fields are checked one by one", () => {
  const e = errorsOf({
    faults: [
      { at: { phase: "resume", round: 1 }, action: "cancel" },
      { at: { afterBytes: -1 }, action: "stop-source" },
      { at: { phase: "bulk" }, action: "storage-enospc" },
    ],
    expect: { memoryEqual: "yes", guestLost: 1 },
  });
  for (
    const want of [
      'faults[0].at.round: only goes with phase "round"',
      "faults[1].at.afterBytes: must be a number >= 0",
      "faults[1].durationMs: stop-source needs a duration",
      "faults[2].action: storage-enospc needs file migration",
      "expect.memoryEqual: must be true, false or null",
      "expect.guestLost: must be true or false",
    ]
  ) assertOk(e.some((x) => x.startsWith(want)), `${want} in ${e.join(" | ")}`);
});
