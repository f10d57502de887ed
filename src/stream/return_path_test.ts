import { assertEquals, assertMatch } from "../util/assert.ts";
import { memoryLinkPair } from "../net/link.ts";
import { writeAck } from "./ack.ts";
import { readReturnPath, writePageRequest, writeSectionDone, writeSummary } from "./return_path.ts";

Deno.test("return path: summary, requests and dones arrive in order before the ack", async () => {
  const [a, b] = memoryLinkPair();
  const seen: unknown[] = [];
  const got = readReturnPath(a, {
    onSummary: (reason, p) => seen.push(["summary", reason, [...p]]),
    onRequest: (block, page) => seen.push(["request", block, page]),
    onDone: (round) => seen.push(["done", round]),
  });
  // 20000 entries: more than the reader's buffer holds at once.
  const prefixes = new Uint32Array(40000).map((_, i) => i * 2654435761);
  await writeSummary(b, "", prefixes);
  await writePageRequest(b, 1, 0xfffffffe);
  await writeSectionDone(b, 3);
  await writeAck(b, { status: 0, message: "loaded" });
  assertEquals(await got, { status: 0, message: "loaded" });
  assertEquals(seen[0], ["summary", null, [...prefixes]]);
  assertEquals(seen.slice(1), [["request", 1, 0xfffffffe], ["done", 3]]);
});

Deno.test("return path: a fallback summary carries its reason", async () => {
  const [a, b] = memoryLinkPair();
  let why: string | null = "";
  const got = readReturnPath(a, { onSummary: (reason) => why = reason });
  await writeSummary(b, "checkpoint unusable: truncated", new Uint32Array(0));
  await writeAck(b, { status: 0, message: "loaded" });
  await got;
  assertEquals(why, "checkpoint unusable: truncated");
});

Deno.test("return path: a summary larger than allowed, or a message not negotiated, is refused", async () => {
  {
    const [a, b] = memoryLinkPair();
    const got = readReturnPath(a, { onSummary: () => {}, summaryEntriesMax: 2 });
    await writeSummary(b, "", new Uint32Array(6));
    const r = await got;
    assertEquals(r?.status, -1);
    assertMatch(r!.message, /summary of 3 entries exceeds the 2 accepted/);
  }
  {
    const [a, b] = memoryLinkPair();
    const got = readReturnPath(a, {});
    await writePageRequest(b, 0, 1);
    const r = await got;
    assertEquals(r?.status, -1);
    assertMatch(r!.message, /unexpected return-path byte 0x83/);
  }
});
