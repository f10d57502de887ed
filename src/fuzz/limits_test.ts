/**
 * Bounded resources: declarations past the destination's limits are refused
 * before anything is allocated, with a clear error naming the offset; a
 * stream that never ends, silent or talkative, is refused too.
 */
import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import type { Link } from "../net/link.ts";
import { memoryLinkPair } from "../net/link.ts";
import { systemClock } from "../util/clock.ts";
import { createRam, PAGE_SIZE } from "../guest/ram.ts";
import { runDestination } from "../engine/destination.ts";
import { KIND_ZERO, MAGIC, VERSION } from "../stream/format.ts";
import { StreamWriter } from "../stream/writer.ts";
import { streamBytesBound } from "../stream/limits.ts";

/** Big-endian bytes: [value, width] pairs and raw byte arrays. */
function bytes(...parts: ([number, 1 | 2 | 4] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (p instanceof Uint8Array) out.push(...p);
    else for (let i = p[1] - 1; i >= 0; i--) out.push(Math.floor(p[0] / 256 ** i) & 0xff);
  }
  return new Uint8Array(out);
}

const HEADER = bytes([MAGIC, 4], [VERSION, 2], [0, 2]);
const name = (s: string) => bytes([s.length, 1], new TextEncoder().encode(s));
/** A setup section with `blocks` ([name, pages]) and no parameters. */
const setup = (blocks: [string, number][], count = blocks.length) =>
  bytes(
    [0x01, 1],
    [PAGE_SIZE, 4],
    [0, 4],
    [count, 2],
    ...blocks.flatMap(([n, p]) => [name(n), bytes([p, 4])]),
    [0, 2],
  );

function source(b: Uint8Array, endless?: (n: number) => Uint8Array): Link {
  let pos = 0;
  let k = 0;
  return {
    write: () => Promise.resolve(),
    read: (into) => {
      if (pos >= b.length) {
        if (!endless) return Promise.resolve(null);
        b = endless(k++);
        pos = 0;
      }
      const n = Math.min(into.length, b.length - pos);
      into.set(b.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
}

async function load(
  link: Link,
  o: { maxRamBytes?: number; maxStreamBytes?: number } = {},
) {
  let allocations = 0;
  let devices = 0;
  const report = await runDestination({
    link,
    clock: systemClock,
    maxRamBytes: o.maxRamBytes,
    maxStreamBytes: o.maxStreamBytes,
    createRam: (s) => {
      allocations++;
      return createRam(s.blocks.map((b) => ({ name: b.name, bytes: b.pages * PAGE_SIZE })));
    },
    loadDevice: () => {
      devices++;
    },
  });
  return { report, allocations, devices };
}

Deno.test("limits: a 1 TiB RAM block is refused before any allocation", async () => {
  for (const maxRamBytes of [undefined, 64 * PAGE_SIZE]) {
    const r = await load(source(bytes(HEADER, setup([["pc.ram", 2 ** 28]]))), { maxRamBytes });
    assertEquals(r.report.outcome, "failed");
    assertMatch(r.report.error!, /Blocks total more than the \d+ bytes this destination accepts/);
    assertMatch(r.report.error!, /offset \d+/);
    assertEquals(r.allocations, 0);
  }
});

Deno.test("limits: the most blocks the format can declare (65535; 2^32 does not fit its u16) are refused", async () => {
  const r = await load(source(bytes(HEADER, setup([["a", 1]], 0xffff))));
  assertEquals(r.report.outcome, "failed");
  assertMatch(r.report.error!, /block count 65535|65535 blocks|Block count/i);
  assertEquals(r.allocations, 0);
});

Deno.test("limits: a 4 GiB device state is refused before it is read or allocated", async () => {
  const device = bytes([0x03, 1], [0xffffffff, 4]);
  const r = await load(source(bytes(HEADER, setup([["pc.ram", 1]]), device)));
  assertEquals(r.report.outcome, "failed");
  assertMatch(r.report.error!, /Device state of 4294967295 bytes exceeds 1048576/);
  assertEquals(r.devices, 0);
});

Deno.test("limits: a source that goes silent is refused at the idle timeout", async () => {
  const [a, b] = memoryLinkPair({ idleTimeoutMs: 200 });
  const writing = a.write(bytes(HEADER, setup([["pc.ram", 1]])));
  const ack = a.read(new Uint8Array(1024)).catch(() => null);
  const r = await load(b);
  a.close();
  await Promise.all([writing.catch(() => {}), ack]);
  assertEquals(r.report.outcome, "failed");
  assertMatch(r.report.error!, /silent/);
});

Deno.test("limits: a source that never ends is refused past the stream bound", async () => {
  // Endless valid RAM sections of round 0, one zero record each, checksums right.
  const maxStreamBytes = streamBytesBound(4 * PAGE_SIZE, 1);
  const [a, b] = memoryLinkPair();
  const w = new StreamWriter(a, { bufferBytes: 64 * 1024 });
  let sent = 0;
  const writing = (async () => {
    w.header();
    await w.setup({
      pageSize: PAGE_SIZE,
      capabilities: 0,
      blocks: [{ name: "pc.ram", pages: 4 }],
      params: new Uint8Array(0),
    });
    // Four times the bound, then it stops: without the bound the test fails instead of hanging.
    while (w.offset < 4 * maxStreamBytes) {
      await w.ramBegin(0);
      await w.ensure(16);
      w.recordHead(KIND_ZERO, 0, sent++ % 4, 1);
      await w.ramEnd();
    }
    await w.flush();
    a.close();
  })().catch(() => {});
  // Drain the return path (a memory link's write waits for its reader), as a source does.
  const ack = a.read(new Uint8Array(1024)).catch(() => null);
  const r = await load(b, { maxStreamBytes });
  a.close();
  await Promise.all([writing, ack]);
  assertEquals(r.report.outcome, "failed");
  assertMatch(
    r.report.error!,
    /The stream passed \d+ bytes, more than a migration of this guest can send/,
  );
  assertOk(sent > 1000, `${sent} sections sent`);
});
