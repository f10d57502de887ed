/**
 * XBZRLE and compressed records in a stream: the destination applies them,
 * and refuses every malformed one with what and where, whatever the chunking.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import type { Link } from "../net/link.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { createRam, PAGE_SIZE } from "../guest/ram.ts";
import { Prng } from "../util/prng.ts";
import { StreamWriter } from "../stream/writer.ts";
import {
  CAP_COMPRESS,
  CAP_XBZRLE,
  KIND_DEFLATE,
  KIND_NORMAL,
  KIND_XBZRLE,
} from "../stream/format.ts";
import { encodeSetupParams } from "../stream/params.ts";
import { runDestination } from "./destination.ts";
import { encodeXbzrle } from "./xbzrle.ts";
import { PageCompressor } from "./compress.ts";

interface Parts {
  caps?: number;
  params?: Uint8Array;
  /** The XBZRLE record's length field and data (default: a valid delta). */
  xbzrle?: { len: number; data: number[] };
  /** The compressed record's count, length field and data (default: two valid pages). */
  deflate?: { count: number; len: number; data: Uint8Array };
}

const OLD = new Uint8Array(PAGE_SIZE).fill(0xab);
const NEW = OLD.slice();
NEW.fill(0x11, 100, 110);
NEW[4095] = 0;
const DELTA = (() => {
  const out = new Uint8Array(PAGE_SIZE);
  return Array.from(out.subarray(0, encodeXbzrle(OLD, NEW, out)));
})();
const TWO = new Uint8Array(2 * PAGE_SIZE).map((_, i) => 97 + (i % 7));
const PACKED = new PageCompressor("deflate", 1).compress(TWO);

/** A stream: page 0 normal (OLD), then an XBZRLE record for page 0, then pages 1..2 compressed. */
async function stream(p: Parts = {}): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const link: Link = {
    write: (d) => (chunks.push(d.slice()), Promise.resolve()),
    read: () => Promise.resolve(null),
    close() {},
  };
  const w = new StreamWriter(link, { bufferBytes: 64 * 1024 });
  w.header();
  await w.setup({
    pageSize: PAGE_SIZE,
    capabilities: p.caps ?? (CAP_XBZRLE | CAP_COMPRESS),
    blocks: [{ name: "pc.ram", pages: 4 }],
    params: p.params ?? encodeSetupParams({ compressMethod: "deflate" }),
  });
  await w.ramBegin(0);
  await w.ensure(32 + PAGE_SIZE);
  w.recordHead(KIND_NORMAL, 0, 0, 1);
  w.u16(1);
  w.align8();
  await w.pageData(OLD, false);
  await w.ramEnd();
  await w.ramBegin(1);
  const x = p.xbzrle ?? { len: DELTA.length, data: DELTA };
  await w.ensure(16 + x.data.length);
  w.recordHead(KIND_XBZRLE, 0, 0, 1);
  w.u16(x.len);
  w.copy(new Uint8Array(x.data), 0, x.data.length);
  const d = p.deflate ?? { count: 2, len: PACKED.length, data: PACKED };
  await w.ensure(16 + d.data.length);
  w.recordHead(KIND_DEFLATE, 0, 1, d.count);
  w.u16(d.count);
  w.u32(d.len);
  w.copy(d.data, 0, d.data.length);
  await w.ramEnd();
  await w.device(new Uint8Array([1]));
  await w.end();
  await w.finish();
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) out.set(c, (o += c.length) - c.length);
  return out;
}

/** A clock that moves one millisecond each time it is read, and never waits. */
function tickingClock(): Clock {
  let now = 0;
  return { nowMs: () => ++now, sleep: () => Promise.resolve() };
}

async function load(bytes: Uint8Array, chunk = 4096, clock: Clock = systemClock) {
  let pos = 0;
  const link: Link = {
    write: () => Promise.resolve(),
    read: (into) => {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(chunk, into.length, bytes.length - pos);
      into.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
  return await runDestination({
    link,
    clock,
    createRam: (setup) =>
      createRam(setup.blocks.map((b) => ({ name: b.name, bytes: b.pages * PAGE_SIZE }))),
    loadDevice: () => {},
  });
}

Deno.test("destination applies XBZRLE deltas and compressed batches, in any chunking", async () => {
  const bytes = await stream();
  for (const chunk of [1, 3, 100, 1 << 20]) {
    const r = await load(bytes, chunk, tickingClock());
    assertEquals(r.outcome, "completed", r.error);
    const ram = r.ram!.blocks[0].bytes;
    assertEquals(ram.slice(0, PAGE_SIZE), NEW);
    assertEquals(ram.slice(PAGE_SIZE, 3 * PAGE_SIZE), TWO);
    assertEquals(r.pages.xbzrle, 1);
    assertEquals(r.pages.deflate, 2);
    assertEquals(r.bytes.xbzrle, 7 + 2 + DELTA.length, "FULL address: first record of a section");
    assertEquals(r.bytes.deflate, 1 + 6 + PACKED.length, "NEXT address");
    // One compressed record, timed on the clock the destination is given: one tick.
    assertEquals(r.decompressMs, 1);
  }
});

Deno.test("destination refuses malformed XBZRLE and compressed records, naming what and where", async () => {
  const garbage = new Uint8Array(40).fill(0x5a);
  const cases: [string, Parts, RegExp][] = [
    ["XBZRLE not negotiated", { caps: CAP_COMPRESS }, /Record kind 3 \(xbzrle\) is not allowed/],
    [
      "compression not negotiated",
      { caps: CAP_XBZRLE, params: new Uint8Array(0) },
      /Record kind 4 \(deflate\) is not allowed/,
    ],
    [
      "no compress method",
      { params: new Uint8Array(0) },
      /asks for compression but names no compressMethod/,
    ],
    [
      "unknown setup parameter",
      { params: encodeSetupParams({ bogus: 1 } as never) },
      /Setup parameter "bogus" is unknown/,
    ],
    [
      "bad compress method",
      { params: encodeSetupParams({ compressMethod: "lz4" as never }) },
      /compressMethod "lz4" is not/,
    ],
    [
      "XBZRLE length 0",
      { xbzrle: { len: 0, data: [] } },
      /XBZRLE record length 0 is not in 1\.\.4096/,
    ],
    ["XBZRLE length past a page", { xbzrle: { len: 5000, data: [] } }, /XBZRLE record length 5000/],
    [
      "zero-length non-zero run",
      { xbzrle: { len: 2, data: [5, 0] } },
      /non-zero run of length 0 at byte 1, in the record for page 0 of block "pc.ram"/,
    ],
    [
      "run past the page end",
      { xbzrle: { len: 5, data: [0xff, 0x1f, 2, 1, 2] } },
      /goes past the page end/,
    ],
    [
      "run past the record",
      { xbzrle: { len: 4, data: [1, 9, 1, 2] } },
      /needs 9 bytes, the encoding has 2 left/,
    ],
    [
      "delta against another page",
      { xbzrle: { len: 3, data: [7, 1, 0xab] } },
      /leaves page offset 7 unchanged/,
    ],
    [
      "compressed count 0",
      { deflate: { count: 0, len: 5, data: garbage } },
      /Compressed record count 0 is not in 1\.\.256/,
    ],
    [
      "compressed run past the block",
      { deflate: { count: 4, len: 5, data: garbage } },
      /Page 1\.\.4 is past the end of block/,
    ],
    [
      "compressed length as long as the pages",
      { deflate: { count: 1, len: 4096, data: garbage } },
      /Compressed record length 4096 is not in 1\.\.4095/,
    ],
    [
      "compressed garbage",
      { deflate: { count: 2, len: 40, data: garbage } },
      /deflate data is not valid: .*, in the compressed record for pages 1\.\.2/,
    ],
    [
      "compressed too few pages",
      { deflate: { count: 1, len: PACKED.length, data: PACKED } },
      /inflates to more than 4096 bytes/,
    ],
  ];
  for (const [what, parts, re] of cases) {
    const r = await load(await stream(parts), 7);
    assertEquals(r.outcome, "failed", what);
    assertMatch(r.error ?? "", re, what);
    assertMatch(r.error ?? "", /at stream offset \d+/, what);
    assertEquals(r.ram, null);
  }
});

Deno.test("fuzz: mutated XBZRLE and compressed streams never crash or hang, and fail with an offset", async () => {
  const valid = await stream();
  const prng = new Prng(77);
  // Mutate past the normal page: the XBZRLE and compressed records and what follows.
  const from = valid.length - 1 - 6 - PACKED.length - 7 - DELTA.length - 3 - 1 - 8;
  let failed = 0;
  for (let i = 0; i < 300; i++) {
    const b = valid.slice();
    for (let k = 0; k < 1 + prng.nextInt(3); k++) {
      b[from + prng.nextInt(b.length - from)] ^= 1 << prng.nextInt(8);
    }
    const r = await load(b, 1 + prng.nextInt(64));
    if (r.outcome !== "completed") {
      failed++;
      assertMatch(r.error ?? "", /offset \d+/);
    }
  }
  assertOk(failed > 150, `mutations caught: ${failed} of 300`);
});
