/**
 * The control connection between the runner and a peer: msgpack messages,
 * each framed as `length:u32 (big-endian) payload:msgpack[length]`. Frames
 * over 64 MiB are refused (a 4 GiB guest's page digests are 16 MiB).
 *
 * @example
 * ```ts ignore
 * const ch = new ControlChannel(await Deno.connect({ port }));
 * await ch.send({ type: "hello", role: "source" });
 * const msg = await ch.next();
 * ```
 * @module
 */
import { Packr } from "msgpackr";
import type { ControlMessage } from "./protocol.ts";

/** Largest control frame. */
export const FRAME_BYTES_MAX = 64 * 1024 * 1024;

const packr = new Packr({ useRecords: false, moreTypes: false, copyBuffers: true });

/** A framed msgpack channel over a TCP connection. */
export class ControlChannel {
  #conn: Deno.Conn;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #closed = false;
  #writing: Promise<void> = Promise.resolve();

  /** Wraps a connection. */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Sends one message; sends are serialised in call order. */
  send(msg: ControlMessage): Promise<void> {
    const body = packr.pack(msg);
    const frame = new Uint8Array(4 + body.length);
    new DataView(frame.buffer).setUint32(0, body.length);
    frame.set(body, 4);
    const p = this.#writing.then(async () => {
      if (this.#closed) throw new Error("Control channel is closed");
      let off = 0;
      while (off < frame.length) off += await this.#conn.write(frame.subarray(off));
    });
    this.#writing = p.catch(() => {});
    return p;
  }

  /** The next message, or null when the peer closed the connection. Throws RangeError on a bad frame. */
  async next(): Promise<ControlMessage | null> {
    if (!(await this.#fill(4))) return null;
    const len = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#start).getUint32(0);
    if (len > FRAME_BYTES_MAX) {
      throw new RangeError(`Control frame of ${len} bytes exceeds ${FRAME_BYTES_MAX}`);
    }
    if (!(await this.#fill(4 + len))) {
      throw new RangeError("Control connection ended inside a frame");
    }
    const msg = packr.unpack(
      this.#buf.subarray(this.#start + 4, this.#start + 4 + len),
    ) as ControlMessage;
    this.#start += 4 + len;
    if (
      typeof msg !== "object" || msg === null ||
      typeof (msg as { type?: unknown }).type !== "string"
    ) {
      throw new TypeError("Control message has no type");
    }
    return msg;
  }

  /** Closes the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #fill(n: number): Promise<boolean> {
    if (this.#end - this.#start >= n) return true;
    if (this.#buf.length < n) {
      const bigger = new Uint8Array(Math.max(n, this.#buf.length * 2));
      bigger.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = bigger;
    } else if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    while (this.#end < n) {
      let got: number | null;
      try {
        got = await this.#conn.read(this.#buf.subarray(this.#end));
      } catch (e) {
        if (this.#closed) return false;
        throw e;
      }
      if (got === null) return false;
      this.#end += got;
    }
    return true;
  }
}
