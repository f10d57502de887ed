import { assertEquals, assertOk } from "../util/assert.ts";
import type { Link } from "../net/link.ts";
import { PAGE_SIZE } from "../contract/page.ts";
import {
  KIND_DEFLATE,
  KIND_NORMAL,
  KIND_XBZRLE,
  KIND_ZERO,
  SECTION_RAM,
  SECTION_SETUP,
} from "./format.ts";
import {
  deflateRecordBytesMax,
  normalRecordBytesMax,
  writeDeflateRecord,
  writeNormalRecord,
  writeXbzrleRecord,
  writeZeroRecord,
  xbzrleRecordBytesMax,
  ZERO_RECORD_BYTES_MAX,
} from "./records.ts";
import { StreamReader } from "./reader.ts";
import { StreamWriter } from "./writer.ts";

/** A link that keeps what is written, and one that serves it back. */
function capture(): { link: Link; bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  return {
    link: {
      write: (d) => (chunks.push(d.slice()), Promise.resolve()),
      read: () => Promise.resolve(null),
      close() {},
    },
    bytes() {
      const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let o = 0;
      for (const c of chunks) out.set(c, (o += c.length) - c.length);
      return out;
    },
  };
}

function serve(bytes: Uint8Array): Link {
  let pos = 0;
  return {
    write: () => Promise.resolve(),
    read: (into) => {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(into.length, bytes.length - pos);
      into.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
    close() {},
  };
}

const DELTA = new Uint8Array([10, 1, 2]);
const PACKED = new Uint8Array([1, 2, 3, 4, 5]);

/**
 * One stream: header, a setup whose block name is `nameLength` long (it
 * shifts every later offset, and so the padding), a RAM section opened, then
 * `write`'s record, the first of the section (FULL addressing).
 */
async function oneRecord(
  nameLength: number,
  write: (w: StreamWriter) => number | Promise<number>,
): Promise<{ bytes: Uint8Array; recordAt: number; written: number }> {
  const c = capture();
  const w = new StreamWriter(c.link, { bufferBytes: 64 * 1024 });
  w.header();
  await w.setup({
    pageSize: PAGE_SIZE,
    capabilities: 0,
    blocks: [{ name: "b".repeat(nameLength), pages: 8 }],
    params: new Uint8Array(0),
  });
  await w.ramBegin(1);
  const recordAt = w.offset;
  const written = await write(w);
  assertEquals(w.offset - recordAt, written, "the writer returns the bytes it wrote");
  await w.finish();
  return { bytes: c.bytes(), recordAt, written };
}

/** Reads the stream of {@link oneRecord} up to the record head; returns the reader. */
async function readToRecord(bytes: Uint8Array): Promise<{ r: StreamReader; kind: number }> {
  const r = new StreamReader(serve(bytes));
  await r.header();
  await r.need(1, "setup");
  assertEquals(r.u8(), SECTION_SETUP);
  await r.setup();
  await r.need(5, "ram");
  assertEquals(r.u8(), SECTION_RAM);
  assertEquals(r.u32(), 1);
  r.ramBegin();
  const kind = await r.recordHead();
  return { r, kind };
}

Deno.test("records: each writer writes its layout, returns its length, within its bound, reached by the first record of a section", async () => {
  const page = new Uint8Array(2 * PAGE_SIZE).map((_, i) => i * 7);
  const cases: [string, (w: StreamWriter) => number | Promise<number>, number][] = [
    ["zero", (w) => writeZeroRecord(w, 0, 3), ZERO_RECORD_BYTES_MAX],
    ["xbzrle", (w) => writeXbzrleRecord(w, 0, 3, DELTA, 3), xbzrleRecordBytesMax(3)],
    ["deflate", (w) => writeDeflateRecord(w, 0, 2, 3, PACKED), deflateRecordBytesMax(5)],
    ["normal", (w) => writeNormalRecord(w, 0, 1, page, false), normalRecordBytesMax(2, true)],
  ];
  for (const [name, write, bound] of cases) {
    let most = 0;
    for (let nameLength = 1; nameLength <= 8; nameLength++) {
      const { written } = await oneRecord(nameLength, write);
      assertOk(written <= bound, `${name}: ${written} bytes within its bound ${bound}`);
      most = Math.max(most, written);
    }
    assertEquals(most, bound, `${name}: the bound is reached (FULL address, most padding)`);
  }
  // Data sent straight from RAM takes no room in the buffer, its checksums do.
  assertEquals(normalRecordBytesMax(2, false), normalRecordBytesMax(2, true) - 2 * PAGE_SIZE);
});

Deno.test("records: the reader reads back what each writer wrote", async () => {
  {
    const { bytes } = await oneRecord(3, (w) => writeZeroRecord(w, 0, 3));
    const { r, kind } = await readToRecord(bytes);
    assertEquals([kind, r.block, r.page], [KIND_ZERO, 0, 3]);
  }
  {
    const { bytes } = await oneRecord(3, (w) => writeXbzrleRecord(w, 0, 4, DELTA, 3));
    const { r, kind } = await readToRecord(bytes);
    assertEquals([kind, r.page], [KIND_XBZRLE, 4]);
    await r.need(2 + 3, "xbzrle");
    assertEquals(r.u16(), 3);
    assertEquals([...r.buf.subarray(r.pos, r.pos + 3)], [...DELTA]);
  }
  {
    const { bytes } = await oneRecord(3, (w) => writeDeflateRecord(w, 0, 2, 3, PACKED));
    const { r, kind } = await readToRecord(bytes);
    assertEquals([kind, r.page], [KIND_DEFLATE, 2]);
    await r.need(6 + 5, "deflate");
    assertEquals([r.u16(), r.u32()], [3, 5]);
    assertEquals([...r.buf.subarray(r.pos, r.pos + 5)], [...PACKED]);
  }
  for (const direct of [false, true]) {
    const data = new Uint8Array(2 * PAGE_SIZE).map((_, i) => (i * 13) & 0xff);
    const { bytes } = await oneRecord(5, (w) => writeNormalRecord(w, 0, 6, data, direct));
    const { r, kind } = await readToRecord(bytes);
    assertEquals([kind, r.page], [KIND_NORMAL, 6]);
    await r.need(2, "count");
    assertEquals(r.u16(), 2);
    await r.align8("page data");
    const into = new Uint8Array(2 * PAGE_SIZE);
    const mismatched = new Uint8Array(2);
    assertEquals(await r.pageData(into, "page data", mismatched), 0, "checksums match");
    assertEquals(into, data, `page data (direct: ${direct})`);
  }
});
