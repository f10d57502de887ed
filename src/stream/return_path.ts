/**
 * The return path of capability HASH (grammar in format.ts), beside the ack
 * (ack.ts): the destination's summary of its checkpoint at setup, its
 * requests for pages whose hash it could not resolve, and a "section done"
 * after each RAM section, so that the source knows every request of that
 * section has been sent before it stops the guest.
 *
 * ```
 * summary := 0x82 reasonLen:u16 reason:utf8[reasonLen] count:u32 prefix:u64[count]
 * request := 0x83 block:u16 page:u32
 * done    := 0x84 round:u32
 * beat    := 0x85                       (busy resolving hashes: not silent)
 * ack     := 0x81 status:u8 len:u16 message:utf8[len]
 * ```
 *
 * {@link readReturnPath} reads every message until the ack, treating the
 * destination's bytes as hostile: a summary longer than the caller allows,
 * a message of a type it does not know, or one of capability HASH when the
 * caller did not negotiate it ends the read with status -1 and a message.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { writeAck } from "./ack.ts";
 * import { readReturnPath, writePageRequest } from "./return_path.ts";
 * const [a, b] = memoryLinkPair();
 * const requests: number[] = [];
 * const got = readReturnPath(a, { onRequest: (block, page) => requests.push(block, page) });
 * await writePageRequest(b, 0, 7);
 * await writeAck(b, { status: 0, message: "loaded" });
 * console.log((await got)?.status, requests); // 0 [0, 7]
 * ```
 * @module
 */
import type { Link } from "../contract/ports.ts";
import {
  ACK_HEAD_BYTES,
  BLOCK_ID_BYTES,
  HASH_PREFIX_BYTES,
  MESSAGE_BYTES_MAX,
  PAGE_REQUEST_BYTES,
  RP_ACK,
  RP_BEAT,
  RP_HASH_SUMMARY,
  RP_PAGE_REQUEST,
  RP_SECTION_DONE,
  SECTION_DONE_BYTES,
  SUMMARY_COUNT_BYTES,
  SUMMARY_ENTRIES_MAX,
  SUMMARY_REASON_LEN_BYTES,
  TYPE_BYTES,
} from "./format.ts";
import type { Ack } from "./ack.ts";

/**
 * What the source does with each return-path message; a message whose
 * handler is absent was not negotiated and ends the read as garbage.
 *
 * @example
 * ```ts
 * import type { ReturnPathHandlers } from "./return_path.ts";
 * const h: ReturnPathHandlers = { onDone: (round) => console.log(round) };
 * ```
 */
export interface ReturnPathHandlers {
  /**
   * The summary: `reason` non-null when the destination holds no usable
   * checkpoint (plain precopy); `prefixes` two u32 (high, low) per entry.
   */
  onSummary?(reason: string | null, prefixes: Uint32Array): void;
  /** A page the destination asks for in full. */
  onRequest?(block: number, page: number): void;
  /** Every record of RAM section `round` was handled. */
  onDone?(round: number): void;
  /** The destination is busy resolving hashes. */
  onBeat?(): void;
  /** Most summary entries accepted (default {@link SUMMARY_ENTRIES_MAX}). */
  summaryEntriesMax?: number;
}

/**
 * Sends the summary: `prefixes` holds two u32 (high, low) per entry; a
 * non-empty `reason` says there is no usable checkpoint.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { writeSummary } from "./return_path.ts";
 * const [, b] = memoryLinkPair();
 * await writeSummary(b, "", new Uint32Array([0, 1]));
 * ```
 */
export async function writeSummary(
  link: Link,
  reason: string,
  prefixes: Uint32Array,
): Promise<void> {
  const r = new TextEncoder().encode(reason).subarray(0, MESSAGE_BYTES_MAX);
  const count = prefixes.length >> 1;
  const head = TYPE_BYTES + SUMMARY_REASON_LEN_BYTES + r.length + SUMMARY_COUNT_BYTES;
  const out = new Uint8Array(head + count * HASH_PREFIX_BYTES);
  const v = new DataView(out.buffer);
  out[0] = RP_HASH_SUMMARY;
  v.setUint16(TYPE_BYTES, r.length);
  out.set(r, TYPE_BYTES + SUMMARY_REASON_LEN_BYTES);
  v.setUint32(head - SUMMARY_COUNT_BYTES, count);
  for (let i = 0; i < count; i++) {
    v.setUint32(head + i * HASH_PREFIX_BYTES, prefixes[2 * i]);
    v.setUint32(head + i * HASH_PREFIX_BYTES + 4, prefixes[2 * i + 1]);
  }
  await link.write(out);
}

/**
 * Asks the source for `page` of `block` in full.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { writePageRequest } from "./return_path.ts";
 * const [, b] = memoryLinkPair();
 * await writePageRequest(b, 0, 12);
 * ```
 */
export async function writePageRequest(link: Link, block: number, page: number): Promise<void> {
  const out = new Uint8Array(PAGE_REQUEST_BYTES);
  const v = new DataView(out.buffer);
  out[0] = RP_PAGE_REQUEST;
  v.setUint16(TYPE_BYTES, block);
  v.setUint32(TYPE_BYTES + BLOCK_ID_BYTES, page);
  await link.write(out);
}

/**
 * Says every record of RAM section `round` was handled.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { writeSectionDone } from "./return_path.ts";
 * const [, b] = memoryLinkPair();
 * await writeSectionDone(b, 0);
 * ```
 */
export async function writeSectionDone(link: Link, round: number): Promise<void> {
  const out = new Uint8Array(SECTION_DONE_BYTES);
  out[0] = RP_SECTION_DONE;
  new DataView(out.buffer).setUint32(TYPE_BYTES, round);
  await link.write(out);
}

/**
 * Says the destination is busy resolving hashes (it is not silent).
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { writeBeat } from "./return_path.ts";
 * const [, b] = memoryLinkPair();
 * await writeBeat(b);
 * ```
 */
export async function writeBeat(link: Link): Promise<void> {
  await link.write(new Uint8Array([RP_BEAT]));
}

/**
 * Reads return-path messages until the ack, with no timeout (the caller
 * races it against its own); null if the link ends first. Anything it
 * cannot accept gives status -1 and a message saying why.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { readReturnPath, writeSectionDone } from "./return_path.ts";
 * const [a, b] = memoryLinkPair();
 * const got = readReturnPath(a, {}); // HASH not negotiated
 * await writeSectionDone(b, 0);
 * console.log((await got)?.status); // -1
 * ```
 */
export async function readReturnPath(
  link: Link,
  handlers: ReturnPathHandlers,
): Promise<Ack | null> {
  const buf = new Uint8Array(64 * 1024);
  const view = new DataView(buf.buffer);
  let pos = 0, end = 0;
  const fill = async (n: number): Promise<boolean> => {
    if (end - pos >= n) return true;
    buf.copyWithin(0, pos, end);
    end -= pos;
    pos = 0;
    while (end < n) {
      const got = await link.read(buf.subarray(end), Infinity);
      if (got === null) return false;
      end += got;
    }
    return true;
  };
  const garbage = (message: string): Ack => ({ status: -1, message });
  const entriesMax = handlers.summaryEntriesMax ?? SUMMARY_ENTRIES_MAX;
  for (;;) {
    if (!(await fill(TYPE_BYTES))) return null;
    const type = buf[pos];
    if (type === RP_ACK) {
      if (!(await fill(ACK_HEAD_BYTES))) return null;
      const status = buf[pos + 1];
      const len = Math.min(view.getUint16(pos + 2), MESSAGE_BYTES_MAX);
      if (!(await fill(ACK_HEAD_BYTES + len))) return null;
      const message = new TextDecoder().decode(
        buf.subarray(pos + ACK_HEAD_BYTES, pos + ACK_HEAD_BYTES + len),
      );
      return { status, message };
    }
    if (type === RP_PAGE_REQUEST && handlers.onRequest) {
      if (!(await fill(PAGE_REQUEST_BYTES))) return null;
      const block = view.getUint16(pos + TYPE_BYTES);
      const page = view.getUint32(pos + TYPE_BYTES + BLOCK_ID_BYTES);
      pos += PAGE_REQUEST_BYTES;
      handlers.onRequest(block, page);
      continue;
    }
    if (type === RP_SECTION_DONE && handlers.onDone) {
      if (!(await fill(SECTION_DONE_BYTES))) return null;
      const round = view.getUint32(pos + TYPE_BYTES);
      pos += SECTION_DONE_BYTES;
      handlers.onDone(round);
      continue;
    }
    if (type === RP_BEAT && handlers.onBeat) {
      pos += TYPE_BYTES;
      handlers.onBeat();
      continue;
    }
    if (type === RP_HASH_SUMMARY && handlers.onSummary) {
      if (!(await fill(TYPE_BYTES + SUMMARY_REASON_LEN_BYTES))) return null;
      const rlen = view.getUint16(pos + TYPE_BYTES);
      if (rlen > MESSAGE_BYTES_MAX) {
        return garbage(`summary reason of ${rlen} bytes exceeds ${MESSAGE_BYTES_MAX}`);
      }
      const head = TYPE_BYTES + SUMMARY_REASON_LEN_BYTES + rlen + SUMMARY_COUNT_BYTES;
      if (!(await fill(head))) return null;
      const reason = new TextDecoder().decode(
        buf.subarray(pos + TYPE_BYTES + SUMMARY_REASON_LEN_BYTES, pos + head - SUMMARY_COUNT_BYTES),
      );
      const count = view.getUint32(pos + head - SUMMARY_COUNT_BYTES);
      if (count > entriesMax) {
        return garbage(`summary of ${count} entries exceeds the ${entriesMax} accepted`);
      }
      pos += head;
      const prefixes = new Uint32Array(count * 2);
      for (let i = 0; i < count;) {
        if (!(await fill(HASH_PREFIX_BYTES))) return null;
        for (; i < count && end - pos >= HASH_PREFIX_BYTES; i++, pos += HASH_PREFIX_BYTES) {
          prefixes[2 * i] = view.getUint32(pos);
          prefixes[2 * i + 1] = view.getUint32(pos + 4);
        }
      }
      handlers.onSummary(reason.length > 0 ? reason : null, prefixes);
      continue;
    }
    return garbage(`unexpected return-path byte 0x${type.toString(16)}`);
  }
}
