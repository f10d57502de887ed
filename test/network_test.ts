/**
 * Migrations between real peers over a shaped network: the userspace shaping
 * proxy (the default), and kernel shaping in network namespaces (opt-in;
 * skipped, with the reason, where it cannot run).
 * @module
 */
import { assertEquals, assertMatch, assertOk, assertRejects } from "../src/util/assert.ts";
import { KernelShapingUnavailable, runScenario } from "../src/scenario/runner.ts";
import type { NetworkSpec, Scenario } from "../src/contract/types.ts";
import { kernelShapingUnavailable } from "../src/net/netns.ts";

const idle = (name: string, ram: string, network: NetworkSpec, extra: Partial<Scenario> = {}) => ({
  name,
  seed: 11,
  guest: { ram, fill: "random" as const, workload: { kind: "idle" as const } },
  network,
  warmupMs: 0,
  settleMs: 0,
  ...extra,
});

/** The rate the migration stream went at, bytes per second. */
const rate = (r: { bytes: { total: number } | null; totalTimeMs: number }) =>
  (r.bytes!.total * 1000) / r.totalTimeMs;

Deno.test("shaped link: a migration over 100 Mbit/s goes at that rate", async () => {
  const r = await runScenario(idle("shaped-100mbit", "16MiB", { bandwidth: "100Mbit" }));
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  assertEquals(r.network?.link, "proxy");
  const error = rate(r) / 12_500_000 - 1;
  console.log(`migration over 100 Mbit/s: ${(rate(r) / 125_000).toFixed(1)} Mbit/s`);
  assertOk(Math.abs(error) < 0.1, `${rate(r)} B/s`);
});

Deno.test("shaped link: a scheduled drop to 20 Mbit/s slows the rest of the migration", async () => {
  const r = await runScenario(idle("shaped-drop", "8MiB", {
    bandwidth: "100Mbit",
    schedule: [{ atMs: 500, bandwidth: "20Mbit" }],
  }));
  assertEquals(r.outcome, "completed", r.error);
  assertEquals(r.memoryEqual, true);
  // 500 ms at 12.5 MB/s, the rest at 2.5 MB/s.
  const expected = 500 + ((r.bytes!.total - 6_250_000) * 1000) / 2_500_000;
  assertOk(Math.abs(r.totalTimeMs / expected - 1) < 0.1, `${r.totalTimeMs} ms, ${expected}`);
  assertOk(r.network!.events.some((e) => e.what === "bandwidth 2500000 B/s"));
});

Deno.test("shaped link: one-way latency delays the ack by a round trip", async () => {
  const r = await runScenario(idle("latency", "4MiB", { latencyMs: 40 }));
  assertEquals(r.outcome, "completed", r.error);
  // The stream's first bytes and the ack each cross the link once.
  assertOk(r.totalTimeMs >= 80, `${r.totalTimeMs} ms`);
  assertOk(r.downtimeMs! >= 40, `downtime ${r.downtimeMs} ms`);
});

const why = await kernelShapingUnavailable();
const netemMissing = why === null && (await kernelShapingUnavailable({ latencyMs: 1 })) !== null;
if (why) console.log(`kernel shaping tests skipped: ${why}`);

/** This runner's namespaces still present (`ip netns list`). */
async function ferryNamespaces(): Promise<string[]> {
  const r = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  assertEquals(r.code, 0, "ip netns list");
  return new TextDecoder().decode(r.stdout).split("\n").map((l) => l.split(" ")[0]).filter((n) =>
    n.startsWith(`ferry-${Deno.pid}-`)
  );
}

Deno.test({
  name: "kernel shaping: a migration between namespaces over tc tbf at 100 Mbit/s",
  ignore: why !== null,
  fn: async () => {
    const r = await runScenario(idle("kernel-100mbit", "16MiB", {
      bandwidth: "100Mbit",
      kernel: true,
    }));
    assertEquals(r.outcome, "completed", r.error);
    assertEquals(r.memoryEqual, true);
    assertEquals(r.network?.link, "kernel");
    console.log(`migration over tc tbf 100 Mbit/s: ${(rate(r) / 125_000).toFixed(1)} Mbit/s`);
    // tbf never lets more through; TCP over tbf's drops reaches 75-100 % of it on a loaded machine.
    assertOk(rate(r) < 12_500_000 * 1.05, `${rate(r)} B/s: faster than the limit`);
    assertOk(rate(r) > 12_500_000 * 0.7, `${rate(r)} B/s: far below the limit`);
    assertEquals(r.cleanup, { processesLeft: [], tempFilesLeft: [], namespacesLeft: [] });
    assertEquals(await ferryNamespaces(), []);
  },
});

Deno.test({
  name: "kernel shaping: a failed migration (destination killed) removes everything too",
  ignore: why !== null,
  fn: async () => {
    const r = await runScenario(idle("kernel-kill", "16MiB", {
      bandwidth: "200Mbit",
      kernel: true,
    }, {
      guest: { ram: "16MiB", workload: { kind: "counter", dirtyRate: "8MiB/s" } },
      faults: [{ at: { phase: "bulk" }, action: "kill-destination" }],
      expect: { outcome: "failed", memoryEqual: true },
    }));
    assertEquals(r.passed, true, JSON.stringify(r.expectations));
    assertEquals(r.sourceGuestRunning, true);
    assertEquals(r.cleanup, { processesLeft: [], tempFilesLeft: [], namespacesLeft: [] });
    assertEquals(await ferryNamespaces(), []);
  },
});

Deno.test({
  name: "kernel shaping: latency without netem is skipped, saying why, leaving nothing",
  ignore: !netemMissing,
  fn: async () => {
    await assertRejects(
      () => runScenario(idle("kernel-latency", "4MiB", { latencyMs: 5, kernel: true })),
      (e: Error) => {
        assertOk(e instanceof KernelShapingUnavailable);
        assertMatch(e.message, /skipped: latency and jitter need the netem qdisc/);
        return true;
      },
    );
    assertEquals(await ferryNamespaces(), []);
  },
});
