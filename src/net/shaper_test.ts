/**
 * The shaping proxy against real loopback sockets: rate and latency
 * accuracy (the machine is shared, so each figure is measured the way it is
 * least disturbed by load), schedule, and the link faults.
 * @module
 */
import { assertEquals, assertOk } from "../util/assert.ts";
import { systemClock } from "../util/clock.ts";
import { ShapingProxy, type ShapingProxyOptions } from "./shaper.ts";

/** A server that accepts one connection and hands it over. */
function server(): { port: number; conn: Promise<Deno.Conn>; close(): void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = l.accept().finally(() => l.close());
  conn.then((c) => c.setNoDelay(true)).catch(() => {});
  return { port: (l.addr as Deno.NetAddr).port, conn, close: () => l.close() };
}

/** A connected pair through a proxy: `client` (the source's end) and `peer` (the destination's). */
async function through(
  options: ShapingProxyOptions,
): Promise<{ proxy: ShapingProxy; client: Deno.Conn; peer: Deno.Conn; close(): Promise<void> }> {
  const s = server();
  const proxy = ShapingProxy.listen({ hostname: "127.0.0.1", port: s.port }, options);
  const client = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  client.setNoDelay(true);
  const peer = await s.conn;
  return {
    proxy,
    client,
    peer,
    async close() {
      for (const c of [client, peer]) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await proxy.close();
    },
  };
}

/** Reads everything from `conn` until it ends; returns the bytes and the arrival log. */
async function sink(conn: Deno.Conn): Promise<{ bytes: Uint8Array; log: [number, number][] }> {
  const parts: Uint8Array[] = [];
  const log: [number, number][] = [];
  let total = 0;
  const buf = new Uint8Array(1 << 20);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      parts.push(buf.slice(0, n));
      total += n;
      log.push([systemClock.nowMs(), total]);
    }
  } catch {
    // reset: what arrived is the result
  }
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const p of parts) bytes.set(p, (off += p.length) - p.length);
  return { bytes, log };
}

/** Writes `data` in 64 KiB writes; resolves with how much went out before a failure. */
async function source(conn: Deno.Conn, data: Uint8Array, close = true): Promise<number> {
  let off = 0;
  try {
    while (off < data.length) off += await conn.write(data.subarray(off, off + 65536));
    if (close) await conn.closeWrite();
  } catch {
    // cut
  }
  return off;
}

/** Bytes that arrived in [from, to] ms of the arrival log. */
function arrivedBetween(log: [number, number][], from: number, to: number): number {
  const at = (t: number) => {
    let v = 0;
    for (const [ms, total] of log) if (ms <= t) v = total;
    return v;
  };
  return at(to) - at(from);
}

Deno.test("shaper: 100 Mbit/s delivers within 5 % over 5 s", async () => {
  const rate = 12_500_000;
  const t = await through({ bandwidthBytesPerSec: rate, seed: 1 });
  const got = sink(t.peer);
  const sent = source(t.client, new Uint8Array(6.5 * rate));
  const { log } = await got;
  await sent;
  await t.close();
  // Measured from the first arrival, so that the connection set-up does not count.
  const start = log[0][0];
  const bytes = arrivedBetween(log, start, start + 5000);
  const error = bytes / (rate * 5) - 1;
  console.log(
    `100 Mbit/s link: ${(bytes / 5 / 125_000).toFixed(2)} Mbit/s over 5 s (${
      (error * 100).toFixed(2)
    } %)`,
  );
  assertOk(Math.abs(error) < 0.05, `delivered ${bytes} bytes in 5 s, expected ${rate * 5}`);
});

/** Median round trip of `n` one-byte pings through an echoing peer. */
async function medianRtt(options: ShapingProxyOptions, n: number): Promise<number[]> {
  const t = await through(options);
  const echo = (async () => {
    const b = new Uint8Array(16);
    for (;;) {
      const got = await t.peer.read(b).catch(() => null);
      if (got === null) return;
      await t.peer.write(b.subarray(0, got));
    }
  })();
  const rtts: number[] = [];
  const b = new Uint8Array(16);
  for (let i = 0; i < n; i++) {
    const t0 = systemClock.nowMs();
    await t.client.write(new Uint8Array([i]));
    await t.client.read(b);
    rtts.push(systemClock.nowMs() - t0);
    await systemClock.sleep(5);
  }
  await t.close();
  await echo;
  return rtts.sort((a, b) => a - b);
}

Deno.test("shaper: added one-way latency within 2 ms of 20 ms", async () => {
  const base = await medianRtt({}, 21);
  const shaped = await medianRtt({ latencyMs: 20 }, 21);
  // Both directions are delayed: a round trip adds twice the latency.
  const added = (shaped[10] - base[10]) / 2;
  console.log(
    `latency 20 ms: added one-way ${added.toFixed(2)} ms (median round trips ${
      base[10].toFixed(2)
    } -> ${shaped[10].toFixed(2)} ms)`,
  );
  assertOk(Math.abs(added - 20) <= 2, `added ${added} ms one-way`);
});

Deno.test("shaper: jitter is seeded and stays in [latency, latency + jitter)", async () => {
  const rtts = await medianRtt({ latencyMs: 5, jitterMs: 10, seed: 9 }, 15);
  // Each of the two directions adds 5..15 ms.
  assertOk(rtts[0] >= 10, `shortest round trip ${rtts[0]} ms`);
  assertOk(rtts[rtts.length - 1] - rtts[0] > 2, "delays vary");
  // The same seed gives the same delays.
  const s = server();
  const a = ShapingProxy.listen({ hostname: "127.0.0.1", port: s.port }, {
    latencyMs: 5,
    jitterMs: 10,
    seed: 9,
  });
  const b = ShapingProxy.listen({ hostname: "127.0.0.1", port: s.port }, {
    latencyMs: 5,
    jitterMs: 10,
    seed: 9,
  });
  const da = Array.from({ length: 8 }, () => a.delayMs());
  assertEquals(Array.from({ length: 8 }, () => b.delayMs()), da);
  assertOk(da.every((d) => d >= 5 && d < 15));
  await a.close();
  await b.close();
  s.close();
});

Deno.test("shaper: a scheduled drop from 100 to 20 Mbit/s applies at its time", async () => {
  const t = await through({
    bandwidthBytesPerSec: 12_500_000,
    schedule: [{ atMs: 1000, bandwidthBytesPerSec: 2_500_000 }],
  });
  const got = sink(t.peer);
  const sent = source(t.client, new Uint8Array(12_500_000 + 2_500_000 * 0.8), true);
  const { log } = await got;
  await sent;
  await t.close();
  const connected = t.proxy.events.find((e) => e.what === "source connected")!.atMs;
  const before = arrivedBetween(log, connected + 200, connected + 900) / 0.7;
  const after = arrivedBetween(log, connected + 1200, connected + 1700) / 0.5;
  assertOk(Math.abs(before / 12_500_000 - 1) < 0.1, `before: ${before} B/s`);
  assertOk(Math.abs(after / 2_500_000 - 1) < 0.1, `after: ${after} B/s`);
  assertOk(t.proxy.events.some((e) => e.what === "bandwidth 2500000 B/s"));
});

Deno.test("shaper: a cut at a byte offset delivers exactly that many bytes, then both ends fail", async () => {
  const t = await through({});
  t.proxy.cut(300_000);
  const got = sink(t.peer);
  const data = new Uint8Array(4 << 20).fill(7);
  const sent = await source(t.client, data);
  const { bytes } = await got;
  assertEquals(bytes.length, 300_000);
  assertOk(sent < data.length, "the source's writes fail after the cut");
  assertOk(t.proxy.closed);
  assertEquals(t.proxy.events.at(-1)?.what, "link cut");
  assertEquals(t.proxy.events.at(-1)?.byte, 300_000);
  await t.close();
});

Deno.test("shaper: a partition stalls both ways for its duration and loses nothing", async () => {
  const t = await through({});
  const got = sink(t.peer);
  const data = new Uint8Array(1 << 20).map((_, i) => i * 31);
  await t.client.write(data.subarray(0, 1000));
  await systemClock.sleep(50);
  t.proxy.partition(400);
  const t0 = systemClock.nowMs();
  await source(t.client, data.subarray(1000));
  const { bytes, log } = await got;
  assertEquals(bytes, data);
  const resumed = log.find(([, total]) => total > 1000)![0];
  assertOk(resumed - t0 >= 390, `traffic resumed ${resumed - t0} ms after the partition began`);
  await t.close();
});

Deno.test("shaper: corrupt flips one bit in each of the given bytes", async () => {
  const t = await through({ seed: 5 });
  t.proxy.corrupt(3, 100_000);
  const got = sink(t.peer);
  const data = new Uint8Array(300_000).map((_, i) => i);
  await source(t.client, data);
  const { bytes } = await got;
  assertEquals(bytes.length, data.length);
  const diff: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (bytes[i] !== data[i]) {
      diff.push(i);
      const x = bytes[i] ^ data[i];
      assertEquals(x & (x - 1), 0, "exactly one bit flipped");
    }
  }
  assertEquals(diff, [100_000, 100_001, 100_002]);
  await t.close();
});

Deno.test("shaper: an unreachable destination closes the source's connection", async () => {
  const s = server();
  s.close();
  await s.conn.catch(() => {});
  const proxy = ShapingProxy.listen({ hostname: "127.0.0.1", port: s.port });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  const n = await c.read(new Uint8Array(8)).catch(() => null);
  assertEquals(n, null);
  c.close();
  await proxy.close();
  assertOk(proxy.events.some((e) => e.what.startsWith("cannot reach the destination")));
});
