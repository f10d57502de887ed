import { assertEquals, assertMatch, assertOk } from "../util/assert.ts";
import { limitSocketBuffer } from "./socket_buffer.ts";
import { ShapingProxy } from "./shaper.ts";

Deno.test("socket buffer: a listener and a connection are found and bounded; a missing one says so", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  assertEquals(limitSocketBuffer({ port }, "receive", 128 * 1024), null);
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const s = await l.accept();
  const local = (c.localAddr as Deno.NetAddr).port;
  assertEquals(limitSocketBuffer({ port: local, peerPort: port }, "send", 128 * 1024), null);
  c.close();
  s.close();
  l.close();
  assertMatch(limitSocketBuffer({ port }, "receive", 1) ?? "", /no such socket/);
});

Deno.test("socket buffer: behind a 100 Mbit/s proxy the source parks under 2 MiB in the kernel", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const proxy = ShapingProxy.listen(
    { hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port },
    { bandwidthBytesPerSec: 12_500_000 },
  );
  const c = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  const s = await l.accept();
  const local = (c.localAddr as Deno.NetAddr).port;
  assertEquals(limitSocketBuffer({ port: local, peerPort: proxy.port }, "send", 256 * 1024), null);
  let delivered = 0;
  const reader = (async () => {
    const b = new Uint8Array(1 << 20);
    for (;;) {
      const n = await s.read(b).catch(() => null);
      if (n === null) return;
      delivered += n;
    }
  })();
  let written = 0, most = 0;
  const data = new Uint8Array(1 << 20);
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) {
    written += await c.write(data);
    most = Math.max(most, written - delivered);
  }
  c.close();
  await reader;
  s.close();
  l.close();
  await proxy.close();
  console.log(`most bytes between the writer and the link: ${most}`);
  assertOk(most < 2 * 1024 * 1024, `${most} bytes queued`);
  assertOk(proxy.events.some((e) => e.what.startsWith("receive buffer 131072")));
});
