/**
 * The hostile guest beyond the balloon: a vCPU that never pauses when asked,
 * and a workload that touches memory past its RAM, must not hang the source:
 * the pause has a deadline, then the migration fails cleanly and the guest
 * goes on as it was.
 */
import { assertEquals, assertMatch, assertOk, assertRejects } from "../util/assert.ts";
import { createRam, PAGE_SIZE } from "./ram.ts";
import { DirtyLog } from "./dirty_log.ts";
import { Workload } from "./workload.ts";
import { Vcpu, type VcpuMisbehaviour } from "./vcpu.ts";
import { encodeDeviceState } from "./device_state.ts";
import { memoryLinkPair } from "../net/link.ts";
import { systemClock } from "../util/clock.ts";
import { resolveMigration } from "../engine/capabilities.ts";
import { runSource } from "../engine/source.ts";
import { runDestination } from "../engine/destination.ts";

async function guest(misbehave?: VcpuMisbehaviour) {
  const ram = createRam([{ name: "pc.ram", bytes: 64 * PAGE_SIZE }]);
  const log = new DirtyLog(ram.totalPages);
  const vcpu = await Vcpu.create(ram, log, { misbehave });
  const w = Workload.fresh({ kind: "random", touchesPerSec: 20_000, writeBytes: 64 }, 1);
  await vcpu.run(w.state());
  return { ram, log, vcpu };
}

Deno.test("hostile guest: a vCPU that never pauses is refused at the pause deadline and keeps running", async () => {
  const { vcpu } = await guest("ignore-pause");
  const t = performance.now();
  await assertRejects(
    () => vcpu.pause({ timeoutMs: 300 }),
    Error,
    "did not pause within 300 ms",
  );
  const ms = performance.now() - t;
  assertOk(ms < 3000, `refused after ${ms} ms`);
  assertOk(vcpu.running, "the guest goes on running");
  await vcpu.stop();
});

Deno.test("hostile guest: a workload that touches past its RAM fails its vCPU, not the process", async () => {
  const { vcpu } = await guest("touch-past-ram");
  await assertRejects(() => vcpu.pause({ timeoutMs: 3000 }), Error, "vCPU failed");
  await vcpu.stop();
});

Deno.test("hostile guest: the source fails the migration cleanly when its guest does not pause", async () => {
  const { ram, log, vcpu } = await guest("ignore-pause");
  const { config } = resolveMigration({ parameters: { maxRounds: 0 } });
  const [a, b] = memoryLinkPair();
  const t = performance.now();
  const [src, dst] = await Promise.all([
    runSource({
      guest: {
        ram,
        syncDirtyLog: (into) => log.syncInto(into),
        stop: async () => encodeDeviceState({ workload: (await vcpu.pause({ timeoutMs: 300 }))! }),
        cont: () => vcpu.resume(),
      },
      link: a,
      clock: systemClock,
      config,
    }),
    runDestination({
      link: b,
      clock: systemClock,
      createRam: (s) =>
        createRam(s.blocks.map((x) => ({ name: x.name, bytes: x.pages * PAGE_SIZE }))),
      loadDevice: () => {},
    }),
  ]);
  assertEquals(src.outcome, "failed");
  assertMatch(src.error ?? "", /did not pause within 300 ms/);
  assertEquals(dst.outcome, "failed", "the destination discards what it loaded");
  assertOk(performance.now() - t < 10_000);
  assertOk(vcpu.running, "the source guest still runs");
  await vcpu.stop();
});
