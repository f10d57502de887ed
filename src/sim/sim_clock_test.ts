import { assertEquals, assertRejects } from "../util/assert.ts";
import { SimClock } from "./sim_clock.ts";

Deno.test("sim clock: timers fire in (time, creation) order, each at its own instant", async () => {
  const clock = new SimClock();
  const fired: [string, number][] = [];
  await clock.run(async () => {
    clock.at(20, () => fired.push(["c", clock.nowMs()]));
    clock.at(10, () => fired.push(["a", clock.nowMs()]));
    clock.at(10, () => fired.push(["b", clock.nowMs()]));
    await clock.sleep(30);
  });
  assertEquals(fired, [["a", 10], ["b", 10], ["c", 20]]);
  assertEquals(clock.nowMs(), 30);
});

Deno.test("sim clock: a cancelled timer at the same instant as the one that fired is skipped, and the run goes on", async () => {
  // Issue 21, item 4: the loop that fires every other timer due at this
  // instant popped a cancelled timer's slot and got nothing back (TypeError).
  const clock = new SimClock();
  const t = await clock.run(async () => {
    const wake = clock.sleep(10); // fires first at 10
    clock.at(10, () => {
      throw new Error("a cancelled timer fired");
    }).cancelled = true; // due at the same instant, cancelled
    await wake;
    return clock.nowMs();
  });
  assertEquals(t, 10);
});

Deno.test("sim clock: a timer of a later instant behind a cancelled one fires at its own time, not early", async () => {
  // Issue 21, item 4: the same loop then fired the next live timer, due
  // later, without moving the clock on.
  const clock = new SimClock();
  const fired: number[] = [];
  await clock.run(async () => {
    const wake = clock.sleep(10);
    clock.at(10, () => fired.push(-1)).cancelled = true;
    clock.at(25, () => fired.push(clock.nowMs()));
    await wake;
    await clock.sleep(20); // until 30
  });
  assertEquals(fired, [25]);
  assertEquals(clock.nowMs(), 30);
});

Deno.test("sim clock: an aborted sleep leaves a cancelled timer that never fires nor stops the run", async () => {
  const clock = new SimClock();
  const order: string[] = [];
  await clock.run(async () => {
    const ctl = new AbortController();
    const aborted = clock.sleep(10, ctl.signal).then(() => order.push(`aborted@${clock.nowMs()}`));
    const other = clock.sleep(10).then(() => order.push(`other@${clock.nowMs()}`));
    ctl.abort();
    await aborted;
    await other;
    await clock.sleep(5);
  });
  assertEquals(order, ["aborted@0", "other@10"]);
  assertEquals(clock.nowMs(), 15);
});

Deno.test("sim clock: every task waiting and no timer set is reported as a deadlock", async () => {
  const clock = new SimClock();
  await assertRejects(
    () => clock.run(() => new Promise<void>(() => {})),
    /Simulation deadlocked at 0\.000 ms/,
  );
});
