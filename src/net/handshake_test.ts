import { assertEquals, assertMatch, assertOk as assert } from "../util/assert.ts";
import { type Link, memoryLinkPair, tcpLink } from "./link.ts";
import {
  clientHandshake,
  type HandshakeAuth,
  MAC_BYTES,
  newMigrationId,
  newSecret,
  NONCE_BYTES,
  serverHandshake,
} from "./handshake.ts";
import { AuthListener } from "./auth_listener.ts";

const auth = (o: Partial<HandshakeAuth> = {}): HandshakeAuth => ({
  secret: o.secret ?? SECRET,
  migrationId: o.migrationId ?? "m-test",
  streamVersion: o.streamVersion ?? 2,
});
const SECRET = newSecret();

/** A link that copies every byte written through it into `written`. */
function recording(link: Link, written: Uint8Array[]): Link {
  return {
    write: (d) => (written.push(d.slice()), link.write(d)),
    read: (into, t) => link.read(into, t),
    close: () => link.close(),
  };
}

Deno.test("handshake: both sides holding the secret accept each other", async () => {
  const [a, b] = memoryLinkPair();
  const [s, c] = await Promise.all([serverHandshake(b, auth()), clientHandshake(a, auth())]);
  assertEquals(s, { ok: true });
  assertEquals(c, { ok: true });
});

Deno.test("handshake: a wrong secret is refused on both sides", async () => {
  const [a, b] = memoryLinkPair();
  const [s, c] = await Promise.all([
    serverHandshake(b, auth(), { timeoutMs: 500 }),
    clientHandshake(a, auth({ secret: newSecret() })),
  ]);
  // The client checks the server's proof first and stops there.
  assert(!c.ok);
  assertMatch(c.reason ?? "", /server's proof is wrong/);
  assert(!s.ok);
});

Deno.test("handshake: a client that sends a proof without the secret is refused", async () => {
  // A hostile client: a real hello, then 32 bytes it made up as its proof.
  const [a, b] = memoryLinkPair();
  const written: Uint8Array[] = [];
  const c = clientHandshake(recording(a, written), auth({ migrationId: "m-test" }));
  // Run a real client only to get a well-formed hello, against a throwaway server.
  await serverHandshake(b, auth());
  await c;
  const [x, y] = memoryLinkPair();
  const server = serverHandshake(y, auth(), { timeoutMs: 2000 });
  const hello = written[0].slice();
  hello[hello.length - 1] ^= 1; // a fresh nonce of its own
  await x.write(hello);
  const reply = new Uint8Array(4 + NONCE_BYTES + MAC_BYTES);
  for (let got = 0; got < reply.length;) got += (await x.read(reply.subarray(got)))!;
  await x.write(crypto.getRandomValues(new Uint8Array(MAC_BYTES)));
  const verdict = new Uint8Array(1);
  assertEquals(await x.read(verdict), 1);
  const s = await server;
  assert(!s.ok);
  assertMatch(s.reason ?? "", /client's proof is wrong/);
  assertEquals(verdict[0], 0);
});

Deno.test("handshake: another migration id, another stream version, are refused", async () => {
  for (const other of [auth({ migrationId: "m-other" }), auth({ streamVersion: 1 })]) {
    const [a, b] = memoryLinkPair();
    const [s, c] = await Promise.all([serverHandshake(b, auth()), clientHandshake(a, other)]);
    assert(!s.ok);
    assertMatch(s.reason ?? "", /another migration|stream version 1/);
    assert(!c.ok);
  }
});

Deno.test("handshake: a recorded client handshake replayed to a fresh server is refused", async () => {
  const [a, b] = memoryLinkPair();
  const written: Uint8Array[] = [];
  await Promise.all([serverHandshake(b, auth()), clientHandshake(recording(a, written), auth())]);
  assertEquals(written.length, 2); // hello, proof
  // The attacker replays both messages to a new server (a fresh nonce), ignoring its hello.
  const [x, y] = memoryLinkPair();
  const server = serverHandshake(y, auth(), { timeoutMs: 2000 });
  await x.write(written[0]);
  const hello = new Uint8Array(4 + NONCE_BYTES + MAC_BYTES);
  for (let got = 0; got < hello.length;) got += (await x.read(hello.subarray(got)))!;
  await x.write(written[1]);
  const s = await server;
  assert(!s.ok);
  assertMatch(s.reason ?? "", /wrong secret or a replayed handshake/);
});

Deno.test("handshake: a client nonce seen before by the same listener is refused as a replay", async () => {
  const seen = new Set<string>();
  const [a, b] = memoryLinkPair();
  const written: Uint8Array[] = [];
  const first = await Promise.all([
    serverHandshake(b, auth(), { seenNonces: seen }),
    clientHandshake(recording(a, written), auth()),
  ]);
  assertEquals(first[0], { ok: true });
  const [x, y] = memoryLinkPair();
  const server = serverHandshake(y, auth(), { seenNonces: seen, timeoutMs: 2000 });
  await x.write(written[0]);
  const s = await server;
  assert(!s.ok);
  assertMatch(s.reason ?? "", /replays a nonce/);
});

Deno.test("handshake: a peer that stalls is refused at the deadline", async () => {
  const [, b] = memoryLinkPair();
  const t = performance.now();
  const s = await serverHandshake(b, auth(), { timeoutMs: 200 });
  const ms = performance.now() - t;
  assert(!s.ok);
  assertMatch(s.reason ?? "", /200 ms deadline|no progress/);
  assert(ms < 2000, `refused after ${ms} ms`);
});

Deno.test("handshake: a short secret or a bad id is refused before anything is sent", async () => {
  const [a] = memoryLinkPair();
  const c = await clientHandshake(a, auth({ secret: new Uint8Array(8) }));
  assert(!c.ok);
  assertMatch(c.reason ?? "", /fewer than 32/);
  const d = await clientHandshake(a, auth({ migrationId: "a b" }));
  assert(!d.ok);
  assertMatch(d.reason ?? "", /printable ASCII/);
  assertMatch(newMigrationId(), /^m-[0-9a-f]{16}$/);
});

/** Connects to `port` and runs the client handshake with `a`; returns the result and the conn. */
async function dial(port: number, a: HandshakeAuth, timeoutMs = 3000) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const r = await clientHandshake(tcpLink(conn, { idleTimeoutMs: timeoutMs }), a, { timeoutMs });
  return { r, conn };
}

Deno.test("auth listener: wrong secret, stall and second connection refused; the real source still gets in", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const lines: string[] = [];
  const door = new AuthListener(listener, auth(), { timeoutMs: 500, log: (l) => lines.push(l) });
  // A staller connects first and says nothing.
  const staller = await Deno.connect({ hostname: "127.0.0.1", port });
  // A wrong secret.
  const bad = await dial(port, auth({ secret: newSecret() }));
  assert(!bad.r.ok);
  bad.conn.close();
  // The real source, while the staller still stalls.
  const good = await dial(port, auth());
  assertEquals(good.r, { ok: true });
  const won = await door.accept();
  if (!won) throw new Error("no winner");
  // A second connection, even one holding the secret.
  const second = await dial(port, auth());
  assert(!second.r.ok);
  second.conn.close();
  // The staller's deadline passes.
  await new Promise((r) => setTimeout(r, 800));
  staller.close();
  await door.close();
  won.close();
  good.conn.close();
  const reasons = door.refusals.map((x) => x.reason).join("\n");
  assertMatch(reasons, /proof is wrong|closed the connection/);
  assertMatch(reasons, /already connected/);
  assertMatch(reasons, /deadline|no progress/);
  assertEquals(lines.length, door.refusals.length);
  for (const l of lines) assert(!l.includes(toHexString(SECRET)), "a log line holds the secret");
});

Deno.test("auth listener: more connections than the pending bound are refused at once", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const door = new AuthListener(listener, auth(), { timeoutMs: 1000, pendingMax: 2 });
  const conns = await Promise.all(
    [0, 1, 2].map(() => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  await new Promise((r) => setTimeout(r, 200));
  assertMatch(door.refusals.map((x) => x.reason).join("\n"), /2 handshakes already in flight/);
  for (const c of conns) c.close();
  await door.close();
  assertEquals(await door.accept(), null);
});

function toHexString(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
