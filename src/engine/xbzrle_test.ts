import { assertEquals, assertOk, assertThrows } from "../util/assert.ts";
import { Prng } from "../util/prng.ts";
import { PAGE_SIZE } from "../guest/ram.ts";
import { checkXbzrle, decodeXbzrle, encodeXbzrle } from "./xbzrle.ts";

/** The format written the obvious way, a byte at a time: the reference the fast encoder must match. */
function referenceEncode(old: Uint8Array, cur: Uint8Array): number[] {
  const out: number[] = [];
  const uleb = (v: number) => v < 128 ? out.push(v) : out.push((v & 0x7f) | 0x80, v >> 7);
  let i = 0;
  while (i < PAGE_SIZE) {
    const zs = i;
    while (i < PAGE_SIZE && old[i] === cur[i]) i++;
    if (i === PAGE_SIZE) break;
    uleb(i - zs);
    const ns = i;
    while (i < PAGE_SIZE && old[i] !== cur[i]) i++;
    uleb(i - ns);
    for (let k = ns; k < i; k++) out.push(cur[k]);
  }
  return out;
}

function randomPage(prng: Prng): Uint8Array {
  const p = new Uint8Array(PAGE_SIZE);
  for (let i = 0; i < PAGE_SIZE; i += 4) {
    const v = prng.nextU32();
    p[i] = v, p[i + 1] = v >>> 8, p[i + 2] = v >>> 16, p[i + 3] = v >>> 24;
  }
  return p;
}

/** A changed copy of `old`: `share` of its bytes, in clusters of about `cluster` bytes (1 = scattered). */
function mutate(old: Uint8Array, prng: Prng, share: number, cluster: number): Uint8Array {
  const cur = old.slice();
  let left = Math.round(share * PAGE_SIZE);
  while (left > 0) {
    const n = Math.min(left, 1 + prng.nextInt(cluster * 2));
    const at = prng.nextInt(PAGE_SIZE - n + 1);
    for (let k = at; k < at + n; k++) cur[k] = old[k] ^ (1 + prng.nextInt(255));
    left -= n;
  }
  return cur;
}

/** Page pairs with the shapes that matter: edges, ULEB128 boundaries, densities, clustered and scattered. */
function* pagePairs(prng: Prng): Generator<[string, Uint8Array, Uint8Array]> {
  const old = randomPage(prng);
  const at = (...offsets: number[]) => {
    const cur = old.slice();
    for (const o of offsets) cur[o] ^= 0x5a;
    return cur;
  };
  yield ["unchanged", old, old.slice()];
  yield ["first byte", old, at(0)];
  yield ["last byte", old, at(PAGE_SIZE - 1)];
  yield ["first and last", old, at(0, PAGE_SIZE - 1)];
  yield ["seed 001 byte", old, at(1234 + 17)];
  for (const n of [1, 2, 3, 4, 5, 7, 8, 127, 128, 129, 4094, 4095, 4096]) {
    for (const start of [0, 1, 2, 3, 5, PAGE_SIZE - n]) {
      if (start + n > PAGE_SIZE || start < 0) continue;
      const cur = old.slice();
      for (let k = start; k < start + n; k++) cur[k] ^= 0xff;
      yield [`run of ${n} at ${start}`, old, cur];
    }
  }
  // Alternating changed/unchanged bytes: the longest encoding of all.
  const alt = old.slice();
  for (let k = 0; k < PAGE_SIZE; k += 2) alt[k] ^= 1;
  yield ["every other byte", old, alt];
  for (const share of [0.001, 0.01, 0.1, 0.5, 0.9]) {
    for (const cluster of [1, 16, 256]) {
      for (let r = 0; r < 8; r++) {
        yield [
          `${share * 100} % in clusters of ${cluster}`,
          old,
          mutate(old, prng, share, cluster),
        ];
      }
    }
  }
  // Bit patterns whose doubles compare in other ways than their bits: +0/-0, NaNs.
  const zeros = new Uint8Array(PAGE_SIZE);
  const negZero = zeros.slice();
  negZero[8 * 300 + 7] = 0x80; // the sign byte of the double at byte 2400: -0
  yield ["+0 to -0 in a long zero stretch", zeros, negZero];
  yield ["-0 to +0", negZero, zeros];
  const nans = new Uint8Array(PAGE_SIZE);
  const f64 = new Float64Array(nans.buffer);
  f64.fill(NaN);
  const nanPayload = nans.slice();
  nanPayload[8 * 200] ^= 1; // another NaN: the doubles never compare equal, the bits differ here only
  yield ["NaN to a NaN with another payload", nans, nanPayload];
  yield [
    "NaNs unchanged but one byte at the end",
    nans,
    (() => {
      const x = nans.slice();
      x[PAGE_SIZE - 1] ^= 2;
      return x;
    })(),
  ];
  // Zero pages and pages with zero bytes: XOR zero inside words.
  const zero = new Uint8Array(PAGE_SIZE);
  const sparse = zero.slice();
  for (let k = 0; k < 40; k++) sparse[prng.nextInt(PAGE_SIZE)] = prng.nextInt(256);
  yield ["zero to sparse", zero, sparse];
  yield ["sparse to zero", sparse, zero];
}

Deno.test("xbzrle: decode(encode(old, new)) applied to old gives new, and matches the byte-at-a-time reference", () => {
  const prng = new Prng(1);
  const out = new Uint8Array(3 * PAGE_SIZE);
  let count = 0;
  for (const [what, old, cur] of pagePairs(prng)) {
    const len = encodeXbzrle(old, cur, out);
    const ref = referenceEncode(old, cur);
    assertEquals(Array.from(out.subarray(0, len)), ref, `${what}: encoding differs from reference`);
    const page = old.slice();
    if (len === 0) {
      assertEquals(page, cur, `${what}: length 0 only for an unchanged page`);
    } else {
      decodeXbzrle(out.subarray(0, len), page);
      assertEquals(page, cur, `${what}: decoded page`);
    }
    count++;
  }
  assertOk(count > 150, `${count} pairs`);
});

Deno.test("xbzrle: random page pairs at random offsets of shared buffers round-trip", () => {
  const prng = new Prng(2);
  const big = new Uint8Array(new SharedArrayBuffer(16 * PAGE_SIZE));
  const out = new Uint8Array(PAGE_SIZE);
  for (let r = 0; r < 500; r++) {
    const oi = prng.nextInt(8), ci = 8 + prng.nextInt(8);
    const old = big.subarray(oi * PAGE_SIZE, (oi + 1) * PAGE_SIZE);
    old.set(randomPage(prng));
    const cur = big.subarray(ci * PAGE_SIZE, (ci + 1) * PAGE_SIZE);
    cur.set(mutate(old, prng, prng.nextFloat() * 0.4, 1 + prng.nextInt(64)));
    const len = encodeXbzrle(old, cur, out);
    assertOk(len >= 0, "fits in a page");
    const page = old.slice();
    if (len > 0) decodeXbzrle(out.subarray(0, len), page);
    assertEquals(page, cur.slice());
  }
});

Deno.test("xbzrle: an encoding longer than the room given overflows (-1), one that fits does not", () => {
  const prng = new Prng(3);
  const old = randomPage(prng);
  for (const share of [0.01, 0.3, 0.7]) {
    const cur = mutate(old, prng, share, 4);
    const len = encodeXbzrle(old, cur, new Uint8Array(2 * PAGE_SIZE));
    assertOk(len > 0);
    assertEquals(encodeXbzrle(old, cur, new Uint8Array(len)), len);
    assertEquals(encodeXbzrle(old, cur, new Uint8Array(len - 1)), -1);
    assertEquals(encodeXbzrle(old, cur, new Uint8Array(0)), -1);
  }
  // Every other byte changed: 2048 pairs of 3 bytes, more than a page.
  const alt = old.slice();
  for (let k = 0; k < PAGE_SIZE; k += 2) alt[k] ^= 1;
  assertEquals(encodeXbzrle(old, alt, new Uint8Array(PAGE_SIZE)), -1);
});

Deno.test("xbzrle: the encoder refuses pages that are not one aligned page", () => {
  const buf = new Uint8Array(2 * PAGE_SIZE + 8);
  const page = buf.subarray(0, PAGE_SIZE);
  assertThrows(
    () => encodeXbzrle(buf.subarray(1, PAGE_SIZE + 1), page, new Uint8Array(10)),
    /old page must be 4096 bytes at a 4-byte aligned offset/,
  );
  assertThrows(
    () => encodeXbzrle(page, buf.subarray(0, 100), new Uint8Array(10)),
    /current page must be 4096 bytes/,
  );
});

Deno.test("xbzrle: the decoder rejects each malformed encoding with what and where, page untouched", () => {
  const old = new Uint8Array(PAGE_SIZE);
  const cases: [string, number[], RegExp][] = [
    ["empty", [], /is empty/],
    ["zero-length non-zero run", [5, 0], /non-zero run of length 0 at byte 1/],
    [
      "zero-length zero run after a pair",
      [0, 1, 9, 0, 1, 9],
      /zero run of length 0 after a non-zero run at byte 3/,
    ],
    ["zero run to the page end", [0x80, 0x20], /reaches page offset 4096/],
    [
      "non-zero run past the page end",
      [0xff, 0x1f, 2, 1, 1],
      /page offset 4095, 2 bytes\) goes past the page end/,
    ],
    ["non-zero run past the record", [3, 4, 1, 2, 3], /needs 4 bytes, the encoding has 3 left/],
    ["ends after a zero run", [3, 1, 7, 9], /ends after the zero run at byte 3/],
    ["ends inside a length", [0x85], /ends inside the zero-run length at byte 0/],
    ["ends before a non-zero length", [3], /ends after the zero run at byte 0/],
    ["non-shortest ULEB128", [0x83, 0x00, 1, 7], /not the shortest form/],
    ["three-byte ULEB128", [0x83, 0x80, 0x01, 1, 7], /longer than 2 bytes/],
    ["length beyond a page", [0, 0x81, 0x40], /length 8193 at byte 1 is longer than a page/],
    ["byte equal to the old copy", [10, 2, 7, 0], /leaves page offset 11 unchanged/],
  ];
  for (const [what, bytes, re] of cases) {
    const page = old.slice();
    page[11] = 0;
    assertThrows(() => decodeXbzrle(new Uint8Array(bytes), page), (e: unknown) => {
      assertOk(e instanceof RangeError, `${what}: a RangeError`);
      assertOk(re.test((e as Error).message), `${what}: "${(e as Error).message}" !~ ${re}`);
      return true;
    });
    assertEquals(page, old, `${what}: page untouched`);
  }
  assertThrows(() => checkXbzrle(new Uint8Array([0, 1, 1]), new Uint8Array(10)), /one page/);
});

Deno.test("xbzrle fuzz: mutated encodings never crash the decoder, and any it accepts is the canonical encoding of what it produced", () => {
  const prng = new Prng(4);
  const out = new Uint8Array(PAGE_SIZE);
  let accepted = 0, rejected = 0;
  for (let r = 0; r < 3000; r++) {
    const old = prng.nextInt(4) === 0 ? new Uint8Array(PAGE_SIZE) : randomPage(prng);
    const cur = mutate(old, prng, prng.nextFloat() * 0.05, 1 + prng.nextInt(32));
    const len = encodeXbzrle(old, cur, out);
    if (len <= 0) continue;
    const good = out.slice(0, len);
    for (let m = 0; m < 8; m++) {
      const bad = mutateBytes(good, prng);
      const page = old.slice();
      try {
        decodeXbzrle(bad, page);
      } catch (e) {
        assertOk(e instanceof RangeError, `a RangeError, got ${e}`);
        assertEquals(page, old, "a rejected encoding leaves the page untouched");
        rejected++;
        continue;
      }
      // Accepted: the mutation must be exactly what the encoder would write for the page it made.
      const again = new Uint8Array(PAGE_SIZE + 16);
      const n = encodeXbzrle(old, page, again);
      assertEquals(Array.from(again.subarray(0, Math.max(n, 0))), Array.from(bad));
      accepted++;
    }
  }
  assertOk(rejected > 10_000, `rejected ${rejected}`);
  assertOk(accepted > 100, `accepted ${accepted} (data-byte changes the format cannot see)`);
});

function mutateBytes(src: Uint8Array, prng: Prng): Uint8Array {
  const a = Array.from(src);
  const pos = () => prng.nextInt(a.length);
  switch (prng.nextInt(7)) {
    case 0:
      a[pos()] ^= 1 << prng.nextInt(8);
      break;
    case 1:
      a[pos()] = prng.nextInt(256);
      break;
    case 2:
      a.length = prng.nextInt(a.length);
      break;
    case 3:
      a.splice(pos(), 0, prng.nextInt(256));
      break;
    case 4:
      a.splice(pos(), 1 + prng.nextInt(3));
      break;
    case 5: {
      const p = pos();
      a.splice(p, 0, ...a.slice(p, p + 1 + prng.nextInt(8)));
      break;
    }
    default:
      a[pos()] = [0, 0x7f, 0x80, 0xff][prng.nextInt(4)];
  }
  return new Uint8Array(a);
}
