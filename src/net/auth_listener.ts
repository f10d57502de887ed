/**
 * The destination's door: accepts connections on its listener, runs the
 * mutual handshake ({@link serverHandshake}) on each, concurrently and each
 * under its own deadline, and hands out the first connection that proves it
 * holds the migration's secret. A connection with a wrong secret, a replayed
 * handshake, a stall past the deadline, or one more than the pending bound is
 * refused and logged with its reason; none of them keeps the real source
 * out. After the winner, every further connection is refused ("a migration is
 * already connected") until {@link AuthListener.close}.
 *
 * @example
 * ```ts ignore
 * const door = new AuthListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }), auth, {
 *   log: (line) => console.error(line),
 * });
 * const conn = await door.accept(); // Deno.TcpConn, authenticated; null once closed
 * ```
 * @module
 */
import { tcpLink } from "./link.ts";
import { HANDSHAKE_TIMEOUT_MS_DEFAULT, type HandshakeAuth, serverHandshake } from "./handshake.ts";

/** The most handshakes in flight at once; more connections are refused at once. */
export const PENDING_HANDSHAKES_MAX = 8;

/** Options of {@link AuthListener}. */
export interface AuthListenerOptions {
  /** Deadline of each handshake. */
  timeoutMs?: number;
  /** Handshakes in flight at once; default {@link PENDING_HANDSHAKES_MAX}. */
  pendingMax?: number;
  /** One line per refused connection (never holds the secret). */
  log?: (line: string) => void;
}

/** A refused connection, as logged. */
export interface Refusal {
  remote: string;
  reason: string;
}

/** Accepts one authenticated connection; refuses every other. */
export class AuthListener {
  #listener: Deno.TcpListener;
  #auth: HandshakeAuth;
  #timeoutMs: number;
  #pendingMax: number;
  #log: (line: string) => void;
  #pending = 0;
  #seen = new Set<string>();
  #winner: Deno.TcpConn | null = null;
  #resolve!: (c: Deno.TcpConn | null) => void;
  #won: Promise<Deno.TcpConn | null>;
  #closed = false;
  #loop: Promise<void>;
  /** Every refusal so far, in order. */
  readonly refusals: Refusal[] = [];

  /** Starts accepting on `listener` at once. */
  constructor(listener: Deno.TcpListener, auth: HandshakeAuth, options: AuthListenerOptions = {}) {
    this.#listener = listener;
    this.#auth = auth;
    this.#timeoutMs = options.timeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT;
    this.#pendingMax = options.pendingMax ?? PENDING_HANDSHAKES_MAX;
    this.#log = options.log ?? (() => {});
    this.#won = new Promise((r) => (this.#resolve = r));
    this.#loop = this.#acceptLoop();
  }

  /** The first authenticated connection, or null once closed without one. */
  accept(): Promise<Deno.TcpConn | null> {
    return this.#won;
  }

  /** Stops accepting, closes the listener; the winner (if any) stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    this.#resolve(null);
    await this.#loop;
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      const remote = describe(conn);
      if (this.#winner) {
        this.#refuse(conn, remote, "a migration is already connected");
      } else if (this.#pending >= this.#pendingMax) {
        this.#refuse(conn, remote, `${this.#pending} handshakes already in flight`);
      } else {
        this.#pending++;
        this.#handshake(conn, remote).finally(() => this.#pending--);
      }
    }
  }

  async #handshake(conn: Deno.TcpConn, remote: string): Promise<void> {
    // The link's own idle timeout is the handshake's deadline too.
    const link = tcpLink(conn, { idleTimeoutMs: this.#timeoutMs });
    const r = await serverHandshake(link, this.#auth, {
      timeoutMs: this.#timeoutMs,
      seenNonces: this.#seen,
    });
    if (!r.ok) {
      this.#refuse(conn, remote, r.reason);
      return;
    }
    if (this.#winner || this.#closed) {
      this.#refuse(conn, remote, "a migration is already connected");
      return;
    }
    this.#winner = conn;
    this.#resolve(conn);
  }

  #refuse(conn: Deno.TcpConn, remote: string, reason: string): void {
    this.refusals.push({ remote, reason });
    this.#log(`refused a migration connection from ${remote}: ${reason}`);
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

function describe(conn: Deno.TcpConn): string {
  const a = conn.remoteAddr as Deno.NetAddr;
  return a && "hostname" in a ? `${a.hostname}:${a.port}` : "a local socket";
}
