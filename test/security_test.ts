/**
 * Authenticated peers between real processes: a destination run by hand with
 * a secret refuses a connection that does not hold it, logs why, and still
 * takes the real source; without a secret it will not listen beyond loopback.
 */
import { assertEquals, assertMatch } from "../src/util/assert.ts";
import { clientHandshake, newSecret, toHex } from "../src/net/handshake.ts";
import { tcpLink } from "../src/net/link.ts";

const root = new URL("../", import.meta.url);

function peer(args: string[], env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads stderr until `pattern` shows; returns its match and the reader, still open. */
async function waitFor(stream: ReadableStream<Uint8Array>, pattern: RegExp) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stderr ended before ${pattern}: ${text}`);
    text += value;
    const m = pattern.exec(text);
    if (m) return { m, reader, text };
  }
}

Deno.test("peers: a wrong secret is refused and logged, and the real source still migrates", async () => {
  const secret = toHex(newSecret());
  const env = { FERRY_SECRET: secret, FERRY_MIGRATION_ID: "m-security-test" };
  const dst = peer(["peers/destination.ts", "--listen", "127.0.0.1:0", "--settle-ms", "50"], env);
  const { m, reader } = await waitFor(dst.stderr, /listening on 127\.0\.0\.1:(\d+)/);
  const port = Number(m[1]);
  // An intruder with its own secret.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const r = await clientHandshake(tcpLink(conn), {
    secret: newSecret(),
    migrationId: "m-security-test",
    streamVersion: 2,
  });
  conn.close();
  assertEquals(r.ok, false);
  const src = peer([
    "peers/source.ts",
    "--connect",
    `127.0.0.1:${port}`,
    "--ram",
    "8MiB",
    "--workload",
    "idle",
  ], env);
  const [s, d] = await Promise.all([src.output(), dst.status]);
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += value;
  }
  const out = new TextDecoder().decode((await dst.stdout.getReader().read()).value);
  assertEquals(s.code, 0, new TextDecoder().decode(s.stderr));
  assertEquals(d.code, 0, rest);
  assertMatch(out, /"outcome": "completed"/);
  assertMatch(rest, /refused a migration connection from 127\.0\.0\.1:\d+: /);
  assertEquals(rest.includes(secret), false, "the log holds the secret");
});

Deno.test("peers: without a secret the destination will not listen beyond loopback", async () => {
  const dst = peer(["peers/destination.ts", "--listen", "0.0.0.0:0"], { FERRY_SECRET: "" });
  const o = await dst.output();
  assertEquals(o.code, 3);
  assertMatch(
    new TextDecoder().decode(o.stderr),
    /not loopback\) needs a secret: set FERRY_SECRET/,
  );
});
