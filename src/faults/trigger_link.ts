/**
 * A link wrapper on the source's side that counts the stream's bytes and
 * stops at byte marks: a write that would cross a mark writes up to the mark,
 * awaits `onMark` (the source peer reports the offset to the runner and waits
 * for it to inject its faults), then goes on. So a byte trigger fires at its
 * exact offset, whatever carries the stream (shaping proxy, kernel link or
 * plain loopback).
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "../net/link.ts";
 * import { triggerLink } from "./trigger_link.ts";
 * const [a, b] = memoryLinkPair();
 * const seen: number[] = [];
 * const t = triggerLink(a, [3], async (at) => void seen.push(at));
 * const reading = b.read(new Uint8Array(8));
 * const writing = t.write(new Uint8Array(5));
 * console.log(await reading); // 3: the write stopped at the mark first
 * await b.read(new Uint8Array(8));
 * await writing;
 * console.log(seen, t.bytes); // [3] 5
 * ```
 * @module
 */
import type { Link } from "../net/link.ts";

/** A link that counts bytes written and pauses at marks. */
export interface TriggerLink extends Link {
  /** Bytes written so far. */
  readonly bytes: number;
}

/** Wraps `link`; `marks` are stream offsets (any order), `onMark` is awaited at each. */
export function triggerLink(
  link: Link,
  marks: readonly number[],
  onMark: (bytes: number) => Promise<void>,
): TriggerLink {
  const pending = [...new Set(marks)].sort((a, b) => a - b);
  let bytes = 0;
  return {
    get bytes() {
      return bytes;
    },
    async write(data) {
      let off = 0;
      for (;;) {
        while (pending.length && pending[0] <= bytes) await onMark(pending.shift()!);
        if (off >= data.length) return;
        const n = Math.min(data.length - off, (pending[0] ?? Infinity) - bytes);
        await link.write(off === 0 && n === data.length ? data : data.subarray(off, off + n));
        bytes += n;
        off += n;
      }
    },
    read: (into, timeoutMs) => link.read(into, timeoutMs),
    close: () => link.close(),
  };
}
