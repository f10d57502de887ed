/**
 * The return path: the destination's one message to the source, on the same
 * connection as the stream (grammar in format.ts):
 *
 * ```
 * ack := 0x81 status:u8 (0 loaded, 1 failed) len:u16 message:utf8[len]
 * ```
 *
 * The message is cut to {@link MESSAGE_BYTES_MAX} bytes on both sides.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { ACK_LOADED } from "./format.ts";
 * import { readAck, writeAck } from "./ack.ts";
 * const [a, b] = memoryLinkPair();
 * const got = readAck(a);
 * await writeAck(b, { status: ACK_LOADED, message: "loaded" });
 * console.log(await got); // { status: 0, message: "loaded" }
 * ```
 * @module
 */
import type { Link } from "../contract/ports.ts";
import { ACK_HEAD_BYTES, MESSAGE_BYTES_MAX, RP_ACK } from "./format.ts";

/** An ack as read: its status (`ACK_LOADED`, `ACK_FAILED`, or -1 for garbage) and message. */
export interface Ack {
  status: number;
  message: string;
}

/** Sends an ack (its message cut to {@link MESSAGE_BYTES_MAX} bytes). */
export async function writeAck(link: Link, ack: Ack): Promise<void> {
  const { status, message } = ack;
  const m = new TextEncoder().encode(message).subarray(0, MESSAGE_BYTES_MAX);
  const out = new Uint8Array(ACK_HEAD_BYTES + m.length);
  out[0] = RP_ACK;
  out[1] = status;
  out[2] = m.length >> 8;
  out[3] = m.length & 0xff;
  out.set(m, ACK_HEAD_BYTES);
  await link.write(out);
}

/**
 * Reads one ack from the return path, with no timeout (the caller races it
 * against its own); null if the link ends first. A first byte that is not
 * an ack gives status -1 and a message saying so.
 */
export async function readAck(link: Link): Promise<Ack | null> {
  const buf = new Uint8Array(ACK_HEAD_BYTES + MESSAGE_BYTES_MAX);
  let have = 0;
  const fill = async (n: number) => {
    while (have < n) {
      const got = await link.read(buf.subarray(have), Infinity);
      if (got === null) return false;
      have += got;
    }
    return true;
  };
  if (!(await fill(ACK_HEAD_BYTES))) return null;
  if (buf[0] !== RP_ACK) {
    return { status: -1, message: `unexpected return-path byte 0x${buf[0].toString(16)}` };
  }
  const len = Math.min((buf[2] << 8) | buf[3], MESSAGE_BYTES_MAX);
  if (!(await fill(ACK_HEAD_BYTES + len))) return null;
  return {
    status: buf[1],
    message: new TextDecoder().decode(buf.subarray(ACK_HEAD_BYTES, ACK_HEAD_BYTES + len)),
  };
}
