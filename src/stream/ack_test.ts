import { assertEquals } from "../util/assert.ts";
import type { Link } from "../net/link.ts";
import { ACK_FAILED, ACK_LOADED, MESSAGE_BYTES_MAX } from "./format.ts";
import { readAck, writeAck } from "./ack.ts";

/** A link whose reads serve `bytes` in chunks of `chunk`, then end. */
function serve(bytes: Uint8Array, chunk: number): Link {
  let pos = 0;
  return {
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
}

async function written(status: number, message: string): Promise<Uint8Array> {
  let out = new Uint8Array(0);
  const link: Link = {
    write: (d) => ((out = d.slice()), Promise.resolve()),
    read: () => Promise.resolve(null),
    close() {},
  };
  await writeAck(link, { status, message });
  return out;
}

Deno.test("ack: written and read back in any chunking; a long message is cut; garbage and an early end are told apart", async () => {
  const ok = await written(ACK_LOADED, "loaded");
  assertEquals([...ok], [0x81, 0, 0, 6, ...new TextEncoder().encode("loaded")]);
  for (const chunk of [1, 3, 64]) {
    assertEquals(await readAck(serve(ok, chunk)), { status: ACK_LOADED, message: "loaded" });
  }
  const long = await written(ACK_FAILED, "x".repeat(3000));
  assertEquals(long.length, 4 + MESSAGE_BYTES_MAX);
  assertEquals(await readAck(serve(long, 100)), {
    status: ACK_FAILED,
    message: "x".repeat(MESSAGE_BYTES_MAX),
  });
  // A peer that claims a longer message: what is read stops at the cap.
  const claimed = new Uint8Array(4 + 3000).fill(0x79);
  claimed.set([0x81, ACK_FAILED, 3000 >> 8, 3000 & 0xff]);
  assertEquals(await readAck(serve(claimed, 512)), {
    status: ACK_FAILED,
    message: "y".repeat(MESSAGE_BYTES_MAX),
  });
  assertEquals(await readAck(serve(new Uint8Array([0x02, 0, 0, 0]), 4)), {
    status: -1,
    message: "unexpected return-path byte 0x2",
  });
  assertEquals(await readAck(serve(ok.subarray(0, 7), 4)), null, "ends inside the message");
  assertEquals(await readAck(serve(new Uint8Array(0), 4)), null, "ends before the ack");
});
