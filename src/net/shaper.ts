/**
 * The shaping proxy: a userspace TCP link between the source and the
 * destination that the runner controls. The source connects to the proxy,
 * the proxy connects to the destination and forwards both directions, each
 * through its own:
 *
 * - token bucket (`bandwidthBytesPerSec`, `burstBytes`; 0 = unlimited), whose
 *   rate can change on a schedule (ms since the source connected);
 * - one-way delay: `latencyMs` plus seeded jitter, uniform in
 *   `[0, jitterMs)` per chunk, never reordering (a chunk never arrives before
 *   the one ahead of it, as TCP delivers).
 *
 * A chunk read from one side waits for its tokens (reading no more meanwhile,
 * so TCP back-pressure reaches the sender), then waits in a delay queue until
 * it is due and is written to the other side. The queue holds a bounded
 * number of bytes.
 *
 * Faults, each at a byte offset of the source's stream (a fault set for an
 * offset the proxy has already passed starts at once):
 *
 * - `cut`: both connections are closed at once (queued data is dropped; the
 *   peers see a reset or end of stream);
 * - `partition(ms)`: nothing moves either way for `ms`, nothing is lost, the
 *   connections stay open; peers that wait longer than their timeout give up;
 * - `corrupt(n)`: one seeded bit is flipped in each of the `n` bytes from the
 *   offset on (source to destination).
 *
 * Everything the proxy did is in {@link ShapingProxy.events}.
 *
 * @example
 * ```ts ignore
 * const proxy = ShapingProxy.listen({ hostname: "127.0.0.1", port: dstPort }, {
 *   bandwidthBytesPerSec: 12_500_000, latencyMs: 5, seed: 1,
 * });
 * // the source connects to proxy.port instead of dstPort
 * proxy.partition(500, 1 << 20); // at 1 MiB into the stream, stall for 500 ms
 * await proxy.close();
 * ```
 * @module
 */
import { systemClock } from "../util/clock.ts";
import { Prng } from "../util/prng.ts";
import { limitSocketBuffer } from "./socket_buffer.ts";
import { TokenBucket } from "./token_bucket.ts";

/** Shaping proxy options. */
export interface ShapingProxyOptions {
  /** Bytes per second each way; 0 or absent: unlimited. */
  bandwidthBytesPerSec?: number;
  /** Token-bucket depth; default the larger of 64 KiB and 10 ms of the peak bandwidth. */
  burstBytes?: number;
  /** One-way delay added to every chunk, each way. */
  latencyMs?: number;
  /** Seeded jitter: uniform in [0, jitterMs) added to each chunk's delay. */
  jitterMs?: number;
  /** Bandwidth changes, in ms since the source connected. */
  schedule?: { atMs: number; bandwidthBytesPerSec: number }[];
  /** Seeds the jitter. */
  seed?: number;
  /** Seeds the corrupted bits (default: `seed`), a stream of its own so that a fault does not move the jitter. */
  corruptSeed?: number;
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /**
   * Source-to-destination bytes before the stream (the peers' handshake,
   * src/net/handshake.ts): shaped but not counted, so that stream offsets
   * (marks, corrupt ranges) stay offsets of the stream. Default 0.
   */
  preambleBytes?: number;
}

/** Something the proxy did or saw, on the system clock. */
export interface ProxyEvent {
  atMs: number;
  /** Stream offset (source to destination bytes read) when it happened. */
  byte: number;
  what: string;
}

/** Smallest receive buffer asked of the kernel for the source's connection. */
const RECEIVE_BUFFER_BYTES_MIN = 128 * 1024;
/** Largest chunk read at once. */
const CHUNK_BYTES_MAX = 256 * 1024;
/** Longest single sleep while waiting for tokens, so that a rate change applies promptly. */
const TOKEN_SLEEP_MS_MAX = 20;

interface Mark {
  at: number;
  apply: () => void;
}

/** A one-connection shaping TCP proxy. */
export class ShapingProxy {
  /** The port the source should connect to. */
  readonly port: number;
  /** What happened, in order. */
  readonly events: ProxyEvent[] = [];
  /** Resolves when both directions have ended (or the proxy was closed). */
  readonly done: Promise<void>;
  #listener: Deno.Listener;
  #target: { hostname: string; port: number };
  #o: Required<Omit<ShapingProxyOptions, "hostname">>;
  #prng: Prng;
  #corruptPrng: Prng;
  #closed = false;
  #stop = new AbortController();
  #stalledUntil = 0;
  #conns: Deno.Conn[] = [];
  #lanes: Lane[] = [];
  #marks: Mark[] = [];
  #corrupt: { from: number; to: number }[] = [];
  #timers: ReturnType<typeof setTimeout>[] = [];

  private constructor(
    listener: Deno.Listener,
    target: { hostname: string; port: number },
    options: ShapingProxyOptions,
  ) {
    this.#listener = listener;
    this.port = (listener.addr as Deno.NetAddr).port;
    this.#target = target;
    const rate = options.bandwidthBytesPerSec ?? 0;
    const peak = Math.max(rate, ...(options.schedule ?? []).map((e) => e.bandwidthBytesPerSec));
    this.#o = {
      bandwidthBytesPerSec: rate,
      burstBytes: options.burstBytes || Math.max(64 * 1024, Math.ceil(peak / 100)),
      latencyMs: options.latencyMs ?? 0,
      jitterMs: options.jitterMs ?? 0,
      schedule: options.schedule ?? [],
      seed: options.seed ?? 1,
      corruptSeed: options.corruptSeed ?? options.seed ?? 1,
      preambleBytes: options.preambleBytes ?? 0,
    };
    this.#prng = new Prng(this.#o.seed);
    this.#corruptPrng = new Prng(this.#o.corruptSeed);
    this.done = this.#run();
  }

  /** Listens on a free port and forwards the first connection to `target`. */
  static listen(
    target: { hostname: string; port: number },
    options: ShapingProxyOptions = {},
  ): ShapingProxy {
    const listener = Deno.listen({ hostname: options.hostname ?? "127.0.0.1", port: 0 });
    const proxy = new ShapingProxy(listener, target, options);
    // A slow reader must not let the source park megabytes in the kernel.
    const bytes = Math.max(RECEIVE_BUFFER_BYTES_MIN, proxy.#o.burstBytes);
    const why = limitSocketBuffer({ port: proxy.port }, "receive", bytes);
    proxy.#event(why ? `receive buffer left to the kernel: ${why}` : `receive buffer ${bytes} B`);
    return proxy;
  }

  /** Source-to-destination bytes read from the source so far (the stream offset reached). */
  get receivedBytes(): number {
    return this.#lanes[0]?.received ?? 0;
  }

  /** Source-to-destination bytes written to the destination so far. */
  get deliveredBytes(): number {
    return this.#lanes[0]?.delivered ?? 0;
  }

  /** Whether the proxy has shut both connections (cut, failure or close). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Changes the bandwidth both ways from now on (0: unlimited). */
  setBandwidth(bytesPerSec: number): void {
    const now = systemClock.nowMs();
    for (const l of this.#lanes) l.bucket.setRate(bytesPerSec, now);
    this.#o.bandwidthBytesPerSec = bytesPerSec;
    this.#event(`bandwidth ${bytesPerSec > 0 ? `${bytesPerSec} B/s` : "unlimited"}`);
  }

  /** Closes both connections once the stream reaches `atByte` (default: now). */
  cut(atByte = 0): void {
    this.#at(atByte, () => {
      this.#event("link cut");
      this.#shutdown();
    });
  }

  /** Stops all traffic for `durationMs` once the stream reaches `atByte`; nothing is lost. */
  partition(durationMs: number, atByte = 0): void {
    this.#at(atByte, () => {
      this.#stalledUntil = Math.max(this.#stalledUntil, systemClock.nowMs() + durationMs);
      this.#event(`partition for ${durationMs} ms`);
    });
  }

  /** Flips one seeded bit in each of `bytes` bytes of the stream from `atByte` on. */
  corrupt(bytes: number, atByte = 0): void {
    this.#at(atByte, () => {
      const from = Math.max(atByte, this.receivedBytes);
      this.#corrupt.push({ from, to: from + bytes });
      this.#event(`corrupting ${bytes} byte(s) at stream offsets ${from}..${from + bytes - 1}`);
    });
  }

  /** Shuts both connections and stops listening; resolves when everything has stopped. */
  async close(): Promise<void> {
    this.#shutdown();
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.done;
  }

  #at(atByte: number, apply: () => void): void {
    if (this.#closed) return;
    if (atByte <= this.receivedBytes) return apply();
    const i = this.#marks.findIndex((m) => m.at > atByte);
    this.#marks.splice(i < 0 ? this.#marks.length : i, 0, { at: atByte, apply });
  }

  #event(what: string): void {
    this.events.push({ atMs: systemClock.nowMs(), byte: this.receivedBytes, what });
  }

  async #run(): Promise<void> {
    let client: Deno.Conn;
    try {
      client = await this.#listener.accept();
    } catch {
      return; // closed before the source came
    } finally {
      try {
        this.#listener.close();
      } catch {
        // closed by close()
      }
    }
    this.#conns.push(client);
    if (this.#closed) return this.#shutdown();
    let server: Deno.Conn;
    try {
      server = await Deno.connect(this.#target);
    } catch (e) {
      this.#event(`cannot reach the destination: ${(e as Error).message}`);
      return this.#shutdown();
    }
    this.#conns.push(server);
    if (this.#closed) return this.#shutdown();
    for (const c of [client, server]) (c as Deno.TcpConn).setNoDelay?.(true);
    const now = systemClock.nowMs();
    this.#event("source connected");
    const o = this.#o;
    const span = o.latencyMs + o.jitterMs;
    const peak = Math.max(o.bandwidthBytesPerSec, ...o.schedule.map((e) => e.bandwidthBytesPerSec));
    const queueBytes = Math.min(
      64 << 20,
      Math.max(4 << 20, (2 * (peak || 1e9) * span) / 1000),
    );
    const chunk = Math.max(
      1500,
      Math.min(CHUNK_BYTES_MAX, o.bandwidthBytesPerSec > 0 ? o.burstBytes : CHUNK_BYTES_MAX),
    );
    const lane = (from: Deno.Conn, to: Deno.Conn, name: string) =>
      new Lane(this, from, to, {
        name,
        bucket: new TokenBucket(o.bandwidthBytesPerSec, { burstBytes: o.burstBytes, nowMs: now }),
        queueBytes,
        chunkBytes: chunk,
      });
    this.#lanes = [
      lane(client, server, "source to destination"),
      lane(server, client, "destination to source"),
    ];
    for (const e of o.schedule) {
      this.#timers.push(
        setTimeout(() => this.setBandwidth(e.bandwidthBytesPerSec), Math.max(0, e.atMs)),
      );
    }
    this.#lanes[0].preamble = o.preambleBytes;
    await Promise.all(this.#lanes.map((l) => l.run()));
    this.#shutdown();
  }

  /** Applies the marks due at `offset` of the source stream; returns the next mark's offset. */
  applyMarks(offset: number): number {
    while (this.#marks.length && this.#marks[0].at <= offset && !this.#closed) {
      this.#marks.shift()!.apply();
    }
    return this.#marks.length ? this.#marks[0].at : Infinity;
  }

  /** Corrupts `data`, which sits at `offset` of the source stream, where a corrupt range covers it. */
  corruptAt(data: Uint8Array, offset: number): void {
    for (const r of this.#corrupt) {
      const from = Math.max(r.from, offset), to = Math.min(r.to, offset + data.length);
      for (let i = from; i < to; i++) data[i - offset] ^= 1 << this.#corruptPrng.nextInt(8);
    }
    if (this.#corrupt.length) {
      this.#corrupt = this.#corrupt.filter((r) => r.to > offset + data.length);
    }
  }

  /** The delay of the next chunk: latency plus seeded jitter. */
  delayMs(): number {
    const o = this.#o;
    return o.latencyMs + (o.jitterMs > 0 ? this.#prng.nextFloat() * o.jitterMs : 0);
  }

  /** Until when traffic is stalled (system clock ms). */
  get stalledUntil(): number {
    return this.#stalledUntil;
  }

  /** Aborted when the proxy shuts down. */
  get stopSignal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Records a failure of one side and shuts down (the other peer then sees the link go). */
  fail(what: string): void {
    if (this.#closed) return;
    this.#event(what);
    this.#shutdown();
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    for (const t of this.#timers) clearTimeout(t);
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    for (const l of this.#lanes) l.wake();
  }
}

/** One direction of the proxy. */
class Lane {
  received = 0;
  /** Bytes still to pass before the stream's offset 0 (the handshake). */
  preamble = 0;
  delivered = 0;
  readonly bucket: TokenBucket;
  #p: ShapingProxy;
  #from: Deno.Conn;
  #to: Deno.Conn;
  #name: string;
  #queue: { data: Uint8Array; due: number }[] = [];
  #queued = 0;
  #queueBytes: number;
  #chunkBytes: number;
  #lastDue = 0;
  #eof = false;
  #wakers: (() => void)[] = [];

  constructor(
    proxy: ShapingProxy,
    from: Deno.Conn,
    to: Deno.Conn,
    o: { name: string; bucket: TokenBucket; queueBytes: number; chunkBytes: number },
  ) {
    this.#p = proxy;
    this.#from = from;
    this.#to = to;
    this.#name = o.name;
    this.bucket = o.bucket;
    this.#queueBytes = o.queueBytes;
    this.#chunkBytes = o.chunkBytes;
  }

  get #forward(): boolean {
    return this.#name === "source to destination";
  }

  run(): Promise<void> {
    return Promise.all([this.#readLoop(), this.#writeLoop()]).then(() => {});
  }

  /** Wakes every wait of this lane (new data, room, shutdown). */
  wake(): void {
    for (const w of this.#wakers.splice(0)) w();
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  #sleep(ms: number): Promise<void> {
    return systemClock.sleep(ms, this.#p.stopSignal);
  }

  async #readLoop(): Promise<void> {
    const p = this.#p;
    try {
      for (;;) {
        // Partitioned, or the delay queue is full: read nothing.
        for (;;) {
          if (p.closed) return;
          const stall = p.stalledUntil - systemClock.nowMs();
          if (stall > 0) await this.#sleep(stall);
          else if (this.#queued >= this.#queueBytes) await this.#idle();
          else break;
        }
        const buf = new Uint8Array(this.#chunkBytes);
        const n = await this.#from.read(buf);
        if (n === null) {
          this.#eof = true;
          this.wake();
          return;
        }
        if (!this.#forward) {
          await this.#shape(buf.subarray(0, n));
          continue;
        }
        let data = buf.subarray(0, n);
        if (this.preamble > 0) {
          const k = Math.min(this.preamble, data.length);
          this.preamble -= k;
          await this.#shape(data.subarray(0, k));
          data = data.subarray(k);
        }
        for (;;) {
          const next = p.applyMarks(this.received);
          if (p.closed || data.length === 0) break;
          const piece = data.subarray(0, Math.min(data.length, next - this.received));
          p.corruptAt(piece, this.received);
          this.received += piece.length;
          data = data.subarray(piece.length);
          await this.#shape(piece);
        }
      }
    } catch (e) {
      if (!p.closed) p.fail(`${this.#name}: reading failed: ${(e as Error).message}`);
    }
  }

  /** Waits for the piece's tokens, then queues it with its delay. */
  async #shape(piece: Uint8Array): Promise<void> {
    if (!this.#forward) this.received += piece.length;
    const b = this.bucket;
    if (b.rateBytesPerSec > 0) {
      b.take(piece.length, systemClock.nowMs());
      for (;;) {
        const wait = b.waitMs(systemClock.nowMs());
        if (wait <= 0 || this.#p.closed) break;
        await this.#sleep(Math.min(wait, TOKEN_SLEEP_MS_MAX));
      }
    }
    const due = Math.max(this.#lastDue, systemClock.nowMs() + this.#p.delayMs());
    this.#lastDue = due;
    this.#queue.push({ data: piece, due });
    this.#queued += piece.length;
    this.wake();
  }

  async #writeLoop(): Promise<void> {
    const p = this.#p;
    try {
      for (;;) {
        if (p.closed) return;
        const head = this.#queue[0];
        if (!head) {
          if (this.#eof) {
            await this.#to.closeWrite().catch(() => {});
            return;
          }
          await this.#idle();
          continue;
        }
        const hold = Math.max(p.stalledUntil, head.due) - systemClock.nowMs();
        if (hold > 0) {
          await this.#sleep(hold);
          continue;
        }
        this.#queue.shift();
        let off = 0;
        while (off < head.data.length) off += await this.#to.write(head.data.subarray(off));
        this.delivered += head.data.length;
        this.#queued -= head.data.length;
        this.wake();
      }
    } catch (e) {
      if (!p.closed) p.fail(`${this.#name}: writing failed: ${(e as Error).message}`);
    }
  }
}
