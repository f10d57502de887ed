import { assertEquals, assertMatch } from "../util/assert.ts";
import type { Link } from "../net/link.ts";
import { systemClock } from "../util/clock.ts";
import { createRam, PAGE_SIZE } from "../guest/ram.ts";
import { runDestination } from "../engine/destination.ts";
import { Prng } from "../util/prng.ts";
import { StreamWriter } from "./writer.ts";
import { StreamReader } from "./reader.ts";
import { KIND_NORMAL, KIND_ZERO, MAGIC, SECTION_DEVICE } from "./format.ts";

/** A link that records what is written. */
function sink(): { link: Link; bytes: () => Uint8Array } {
  const chunks: Uint8Array[] = [];
  return {
    link: {
      write: (d) => (chunks.push(d.slice()), Promise.resolve()),
      read: () => Promise.resolve(null),
      close() {},
    },
    bytes: () => {
      const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let o = 0;
      for (const c of chunks) out.set(c, (o += c.length) - c.length);
      return out;
    },
  };
}

/** A link that serves `bytes` in chunks of `chunk` and then ends (or stays silent). */
function source(bytes: Uint8Array, chunk = 4096, silentAtEnd = false): Link {
  let pos = 0;
  return {
    write: () => Promise.resolve(),
    read: (into) => {
      if (pos >= bytes.length) return silentAtEnd ? new Promise(() => {}) : Promise.resolve(null);
      const n = Math.min(chunk, into.length, bytes.length - pos);
      into.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
}

const DEVICE = new Uint8Array([1, 2, 3]);

/** A writer into a sink, with the header and a setup section for `blocks` written. */
async function startStream(blocks: { name: string; pages: number }[]) {
  const s = sink();
  const w = new StreamWriter(s.link, { bufferBytes: 64 * 1024 });
  w.header();
  await w.setup({ pageSize: PAGE_SIZE, capabilities: 0, blocks, params: new Uint8Array(0) });
  return { s, w };
}

/**
 * A valid stream: two blocks, a zero page, a run of normal pages, device
 * state, end. Options make it invalid in one way each.
 */
async function validStream(
  o: { device?: Uint8Array | null; deviceTwice?: boolean; ramAfterDevice?: boolean } = {},
): Promise<Uint8Array> {
  const { s, w } = await startStream([{ name: "pc.ram", pages: 8 }, { name: "vga", pages: 2 }]);
  await w.ramBegin(0);
  await w.ensure(64);
  w.recordHead(KIND_ZERO, 0, 0, 1);
  w.recordHead(KIND_NORMAL, 0, 1, 2);
  w.u16(2);
  w.align8();
  await w.pageData(new Uint8Array(2 * PAGE_SIZE).fill(0xab), false);
  await w.ensure(16);
  w.recordHead(KIND_NORMAL, 1, 1, 1);
  w.u16(1);
  w.align8();
  await w.pageData(new Uint8Array(PAGE_SIZE).fill(7), true);
  await w.ramEnd();
  const device = o.device === undefined ? DEVICE : o.device;
  if (device) await w.device(device);
  if (device && o.deviceTwice) await w.device(device);
  if (o.ramAfterDevice) {
    await w.ramBegin(1);
    await w.ramEnd();
  }
  await w.end();
  await w.finish();
  return s.bytes();
}

async function load(
  bytes: Uint8Array,
  options: { chunk?: number; silent?: boolean; timeoutMs?: number } = {},
) {
  let device: Uint8Array | null = null;
  let link = source(bytes, options.chunk, options.silent);
  if (options.timeoutMs) {
    const inner = link;
    link = {
      ...inner,
      read: (into) =>
        Promise.race([
          inner.read(into),
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new Error("Reading made no progress: the peer is silent")),
              options.timeoutMs,
            )
          ),
        ]),
    };
  }
  const report = await runDestination({
    link,
    clock: systemClock,
    maxRamBytes: 64 * PAGE_SIZE,
    createRam: (setup) =>
      createRam(setup.blocks.map((b) => ({ name: b.name, bytes: b.pages * PAGE_SIZE }))),
    loadDevice: (d) => {
      if (d.length !== 3) throw new RangeError("unexpected device state");
      device = d;
    },
  });
  return { report, device };
}

Deno.test("a valid stream loads, in any chunking", async () => {
  const bytes = await validStream();
  for (const chunk of [1, 7, 4096, 1 << 20]) {
    const { report, device } = await load(bytes, { chunk });
    assertEquals(report.outcome, "completed", report.error);
    assertEquals(device, DEVICE);
    const ram = report.ram!;
    assertEquals(ram.blocks[0].bytes[PAGE_SIZE], 0xab);
    assertEquals(ram.blocks[0].bytes[3 * PAGE_SIZE - 1], 0xab);
    assertEquals(ram.blocks[0].bytes[3 * PAGE_SIZE], 0);
    assertEquals(ram.blocks[1].bytes[PAGE_SIZE], 7);
    assertEquals(report.pages.normal, 3);
    assertEquals(report.pages.zero, 1);
  }
});

Deno.test("the reader keeps buffer index and stream offset equal mod 8 across compaction", async () => {
  const bytes = new Uint8Array(100).map((_, i) => i);
  const r = new StreamReader(source(bytes, 5), { bufferBytes: 32 });
  await r.need(3, "x");
  r.pos += 3;
  await r.need(20, "y");
  assertEquals(r.pos & 7, r.offset & 7);
  assertEquals(r.buf[r.pos], 3);
});

/** Patches a copy of the valid stream and expects a failure whose message matches `pattern`. */
async function expectRejected(
  patch: (b: Uint8Array, v: DataView) => Uint8Array | void,
  pattern: RegExp,
) {
  const valid = await validStream();
  const b = valid.slice();
  const out = patch(b, new DataView(b.buffer)) ?? b;
  const { report } = await load(out);
  assertEquals(report.outcome, "failed");
  assertMatch(report.error ?? "", pattern);
  assertMatch(report.error ?? "", /offset \d+/);
  assertEquals(report.ram, null);
}

// Offsets in the valid stream: header 0-7, setup 8.., first RAM section after the setup.
const SETUP = 8;
const BLOCK0_NAME_LEN = SETUP + 11;
const RAM_AT = SETUP + 11 + 1 + 6 + 4 + 1 + 3 + 4 + 2; // setup: type, pageSize, caps, count; 2 blocks; params length

Deno.test("malformed streams fail with what and where", async (t) => {
  const cases: [string, (b: Uint8Array, v: DataView) => Uint8Array | void, RegExp][] = [
    ["bad magic", (_, v) => v.setUint32(0, MAGIC ^ 1), /Bad magic/],
    ["unknown version", (_, v) => v.setUint16(4, 9), /Unsupported stream version 9/],
    ["page size", (_, v) => v.setUint32(SETUP + 1, 512), /Page size 512/],
    ["no blocks", (_, v) => v.setUint16(SETUP + 9, 0), /Block count 0/],
    ["unknown capability bit", (_, v) => v.setUint32(SETUP + 5, 0x408), /capabilities 0x408/],
    [
      "record kind not negotiated",
      (b) => void (b[RAM_AT + 5] = 3),
      /Record kind 3 \(xbzrle\) is not allowed by the negotiated capabilities/,
    ],
    ["non-printable name", (b) => void (b[BLOCK0_NAME_LEN + 1] = 0x01), /non-printable/],
    [
      "guest too large",
      (_, v) => v.setUint32(BLOCK0_NAME_LEN + 7, 1_000_000),
      /Blocks total more than/,
    ],
    [
      "truncated",
      (b) => b.subarray(0, b.length - 100),
      /Stream ended at offset \d+ in the middle of/,
    ],
    ["truncated in the header", (b) => b.subarray(0, 5), /Stream ended/],
    ["unknown section", (b) => void (b[RAM_AT] = 0x7f), /Unknown section type 0x7f/],
    ["undeclared block", (_, v) => void v.setUint16(RAM_AT + 6, 9), /Block id 9 is not declared/],
    [
      "page past the block",
      (_, v) => v.setUint32(RAM_AT + 8, 8),
      /Page 8 is past the end of block "pc.ram"/,
    ],
    ["reserved flag", (b) => void (b[RAM_AT + 5] |= 0x20), /Reserved flag bit/],
    ["unknown record kind", (b) => void (b[RAM_AT + 5] = 0x05), /Record kind 5/],
    [
      "next page with no page before",
      (b) => void (b[RAM_AT + 5] = KIND_ZERO | 0x80),
      /no page came before/,
    ],
    [
      "normal run of zero pages",
      (_, v) => v.setUint16(RAM_AT + 13, 0),
      /count 0 is not in 1\.\.256/,
    ],
    [
      "normal run past the block",
      (_, v) => v.setUint16(RAM_AT + 13, 8),
      /Page 1\.\.8 is past the end/,
    ],
    ["non-zero padding", (b) => void (b[RAM_AT + 15] = 1), /Padding byte/],
  ];
  for (const [name, patch, pattern] of cases) {
    await t.step(name, () => expectRejected(patch, pattern));
  }
});

Deno.test("device state: oversized, rejected by its loader, missing, twice", async () => {
  const valid = await validStream();
  const devAt = valid.length - 5 - 4 - DEVICE.length - 5; // end+crc, device crc, state, type+len
  assertEquals(valid[devAt], SECTION_DEVICE);
  const big = valid.slice();
  new DataView(big.buffer).setUint32(devAt + 1, 2 * 1024 * 1024);
  assertMatch((await load(big)).report.error!, /Device state of 2097152 bytes exceeds/);
  const rejected = await load(await validStream({ device: new Uint8Array(2) }));
  assertMatch(rejected.report.error!, /Device state rejected: unexpected device state/);
  const missing = await load(await validStream({ device: null }));
  assertMatch(missing.report.error!, /End of stream before the device state/);
  const twice = await load(await validStream({ deviceTwice: true }));
  assertMatch(twice.report.error!, /A second device-state section/);
  const ramAfter = await load(await validStream({ ramAfterDevice: true }));
  assertMatch(ramAfter.report.error!, /RAM section after the device state/);
});

Deno.test("checksums: a flipped byte anywhere fails cleanly, never loads a wrong page", async () => {
  const valid = await validStream();
  const devAt = valid.length - 5 - 4 - DEVICE.length - 5;
  // In the device state: the device crc catches it before the state is applied.
  const dev = valid.slice();
  dev[devAt + 5] ^= 0x10;
  assertMatch((await load(dev)).report.error!, /Checksum of the device state is .* corrupted/);
  // In page data: the run's pages are suspect and never sent again.
  const page = valid.slice();
  const firstRunData = page.indexOf(0xab);
  page[firstRunData + 100] ^= 1;
  assertMatch(
    (await load(page)).report.error!,
    /1 page\(s\) failed their checksum and were not sent again, the first at pc.ram\+0x1000/,
  );
  // In a record head (a page number): the RAM section's crc catches it.
  const head = valid.slice();
  const v = new DataView(head.buffer);
  v.setUint32(RAM_AT + 8, v.getUint32(RAM_AT + 8) ^ 2); // NORMAL run's page 1 -> 3
  assertMatch((await load(head)).report.error!, /Checksum of the RAM section .* corrupted/);
});

Deno.test("a run that fails its checksum and is sent again loads the good copy", async () => {
  const { s, w } = await startStream([{ name: "pc.ram", pages: 4 }]);
  for (const [round, fill] of [[0, 0x11], [1, 0x22]]) {
    await w.ramBegin(round);
    await w.ensure(16);
    w.recordHead(KIND_NORMAL, 0, 2, 1);
    w.u16(1);
    w.align8();
    await w.pageData(new Uint8Array(PAGE_SIZE).fill(fill), false);
    await w.ramEnd();
  }
  await w.device(DEVICE);
  await w.end();
  await w.finish();
  const bytes = s.bytes();
  bytes[bytes.indexOf(0x11) + 7] ^= 0x80; // the guest wrote the page while it was sent
  const { report } = await load(bytes);
  assertEquals(report.outcome, "completed", report.error);
  assertEquals(report.ram!.blocks[0].bytes[2 * PAGE_SIZE + 7], 0x22);
});

Deno.test("a silent peer times out instead of hanging", async () => {
  const valid = await validStream();
  const { report } = await load(valid.subarray(0, 100), { silent: true, timeoutMs: 50 });
  assertEquals(report.outcome, "failed");
  assertMatch(report.error!, /silent/);
});

Deno.test("fuzz: mutated streams never crash or hang; truncated ones never complete", async () => {
  const valid = await validStream();
  const prng = new Prng(2024);
  let failed = 0;
  for (let i = 0; i < 300; i++) {
    const b = valid.slice();
    const flips = 1 + prng.nextInt(4);
    for (let k = 0; k < flips; k++) b[prng.nextInt(b.length)] ^= 1 << prng.nextInt(8);
    const cut = prng.nextFloat() < 0.2 ? prng.nextInt(b.length) : b.length;
    const { report } = await load(b.subarray(0, cut), { chunk: 1 + prng.nextInt(5000) });
    if (cut < b.length) assertEquals(report.outcome, "failed", "a truncated stream must not load");
    if (report.outcome !== "completed") {
      failed++;
      assertMatch(report.error ?? "", /offset \d+/);
    }
  }
  // Every byte is covered by a checksum: any flip fails the migration.
  assertEquals(failed, 300, `mutations caught: ${failed} of 300`);
});
