import { assertEquals } from "../util/assert.ts";
import { memoryLinkPair } from "../net/link.ts";
import { triggerLink } from "./trigger_link.ts";

Deno.test("trigger link: writes stop at each mark, in order, and every byte arrives once", async () => {
  const [a, b] = memoryLinkPair();
  const log: string[] = [];
  let received = 0;
  const t = triggerLink(a, [10, 0, 25, 10], async (at) => {
    log.push(`mark ${at} after ${t.bytes} written`);
    await Promise.resolve();
  });
  const got: number[] = [];
  const reader = (async () => {
    const buf = new Uint8Array(64);
    for (;;) {
      const n = await b.read(buf);
      if (n === null) return;
      got.push(...buf.subarray(0, n));
      received += n;
      log.push(`read ${n}`);
    }
  })();
  const data = new Uint8Array(20).map((_, i) => i);
  await t.write(data);
  await t.write(data);
  t.close();
  await reader;
  assertEquals(got, [...data, ...data]);
  assertEquals(received, 40);
  assertEquals(t.bytes, 40);
  assertEquals(log.filter((l) => l.startsWith("mark")), [
    "mark 0 after 0 written",
    "mark 10 after 10 written",
    "mark 25 after 25 written",
  ]);
});
