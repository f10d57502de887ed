/**
 * A sink for the raw loopback measurement: accepts one connection, reads
 * until the end, prints the byte count.
 * @module
 */
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log((listener.addr as Deno.NetAddr).port);
const conn = await listener.accept();
listener.close();
const buf = new Uint8Array(4 * 1024 * 1024);
let total = 0;
for (;;) {
  const n = await conn.read(buf);
  if (n === null) break;
  total += n;
}
await conn.write(new TextEncoder().encode(String(total)));
conn.close();
