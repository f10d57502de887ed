/**
 * Links carry the migration stream. The engine only sees the {@link Link}
 * interface; real peers wrap a TCP connection ({@link tcpLink}), tests use an
 * in-memory pair ({@link memoryLinkPair}), the simulator its own.
 *
 * A link owns the "silent peer" timeout: a read or write that makes no
 * progress for `idleTimeoutMs` rejects with a `Deno.errors.TimedOut`-style
 * Error, so a dead or stopped peer never hangs the engine.
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "./link.ts";
 * const [a, b] = memoryLinkPair();
 * await a.write(new Uint8Array([1, 2, 3]));
 * const buf = new Uint8Array(8);
 * console.log(await b.read(buf)); // 3
 * ```
 * @module
 */

import type { Link } from "../contract/ports.ts";
export type { Link };

/** Error raised when a peer makes no progress in time. */
export function timeoutError(what: string, ms: number): Error {
  const e = new Error(`${what} made no progress for ${ms} ms: the peer is silent`);
  e.name = "TimedOut";
  return e;
}

/** Races `p` against a timer; the timer is always cleared. */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeoutError(what, ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wraps a Deno TCP connection as a link with an idle timeout. */
export function tcpLink(conn: Deno.Conn, options: { idleTimeoutMs?: number } = {}): Link {
  const idle = options.idleTimeoutMs ?? 10_000;
  let closed = false;
  return {
    async write(data) {
      let off = 0;
      while (off < data.length) {
        off += await withTimeout(
          conn.write(data.subarray(off)),
          idle,
          "Writing the migration stream",
        );
      }
    },
    async read(into, timeoutMs) {
      return await withTimeout(conn.read(into), timeoutMs ?? idle, "Reading the migration stream");
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed by the peer
      }
    },
  };
}

/**
 * Two connected in-memory links. Writes are copied; a write resolves once the
 * reader has consumed it, so back-pressure is real.
 */
export function memoryLinkPair(options: { idleTimeoutMs?: number } = {}): [Link, Link] {
  const ab = new Pipe();
  const ba = new Pipe();
  const idle = options.idleTimeoutMs ?? Infinity;
  const make = (out: Pipe, inn: Pipe): Link => ({
    write: (d) => withTimeout(out.write(d), idle, "Writing the migration stream"),
    read: (into, timeoutMs) =>
      withTimeout(inn.read(into), timeoutMs ?? idle, "Reading the migration stream"),
    close: () => {
      out.end();
      inn.end();
    },
  });
  return [make(ab, ba), make(ba, ab)];
}

class Pipe {
  #chunks: Uint8Array[] = [];
  #ended = false;
  #readers: (() => void)[] = [];
  #drained: (() => void)[] = [];

  write(d: Uint8Array): Promise<void> {
    if (this.#ended) return Promise.reject(new Error("Link is closed"));
    if (d.length === 0) return Promise.resolve();
    this.#chunks.push(d.slice());
    this.#wake();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#readers.push(resolve));
    }
    const c = this.#chunks[0];
    const n = Math.min(c.length, into.length);
    into.set(c.subarray(0, n));
    if (n === c.length) {
      this.#chunks.shift();
      this.#drained.shift()?.();
    } else this.#chunks[0] = c.subarray(n);
    return n;
  }

  end(): void {
    this.#ended = true;
    this.#wake();
    for (const d of this.#drained.splice(0)) d();
    this.#chunks = [];
  }

  #wake(): void {
    for (const r of this.#readers.splice(0)) r();
  }
}
