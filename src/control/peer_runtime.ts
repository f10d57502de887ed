/**
 * What both peer processes share: the control connection to the runner with
 * its message loop (pings answered at once, other messages waited for by
 * type), a peak-memory sampler, and address parsing.
 *
 * @example
 * ```ts ignore
 * const peer = await PeerControl.connect("127.0.0.1:4000", "source");
 * const { config } = await peer.wait("configure");
 * ```
 * @module
 */
import { systemClock } from "../util/clock.ts";
import { ControlChannel } from "./channel.ts";
import type { ControlMessage } from "./protocol.ts";
import { Inbox, type MessageOf } from "./inbox.ts";

/** Parses `HOST:PORT` (port 0 allowed: any free port). Throws TypeError naming the text. */
export function parseHostPort(text: string, what: string): { hostname: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535) throw new TypeError(`${what} "${text}" is not HOST:PORT`);
  return { hostname: m[1].replace(/^\[(.*)\]$/, "$1"), port };
}

/** The peer's side of the control connection. */
export class PeerControl {
  readonly channel: ControlChannel;
  readonly inbox: Inbox;
  /** Aborted when the runner sends `cancel`. */
  readonly cancel = new AbortController();

  private constructor(channel: ControlChannel) {
    this.channel = channel;
    this.inbox = new Inbox(channel, async (m) => {
      if (m.type === "ping") {
        await this.send({ type: "pong", t0: m.t0, peerMs: systemClock.nowMs() });
        return true;
      }
      if (m.type === "cancel") this.cancel.abort(m.reason ?? "cancelled by the runner");
      return false;
    });
  }

  /**
   * Connects to the runner (`HOST:PORT`, or `unix:PATH` for a peer in its own
   * network namespace) and says hello.
   */
  static async connect(address: string, role: "source" | "destination"): Promise<PeerControl> {
    const conn = address.startsWith("unix:")
      ? await Deno.connect({ transport: "unix", path: address.slice(5) })
      : await Deno.connect(parseHostPort(address, "--control"));
    (conn as Deno.TcpConn).setNoDelay?.(true);
    const pc = new PeerControl(new ControlChannel(conn));
    await pc.channel.send({ type: "hello", role, pid: Deno.pid });
    return pc;
  }

  /** Sends a message to the runner (errors are ignored: the runner may be gone). */
  send(msg: ControlMessage): Promise<void> {
    return this.channel.send(msg).catch(() => {});
  }

  /** Waits for the next message of `type`. Rejects when the runner goes away. */
  wait<T extends ControlMessage["type"]>(type: T): Promise<MessageOf<T>> {
    return this.inbox.wait(type, { what: "the runner" });
  }

  /** Resolves when the control connection ends. */
  get closed(): Promise<void> {
    return this.inbox.closed;
  }
}

/**
 * The process's resident memory in bytes, from /proc/self/statm where there
 * is one (Deno.memoryUsage().rss was seen to wrap past 4 GiB here).
 */
export function residentBytes(): number {
  try {
    const pages = Number(Deno.readTextFileSync("/proc/self/statm").split(" ")[1]);
    if (Number.isFinite(pages)) return pages * 4096;
  } catch {
    // not Linux
  }
  return Deno.memoryUsage().rss;
}

/** Samples the process's resident memory every 50 ms; `max` is the peak seen. */
export class RssSampler {
  max = 0;
  #timer: ReturnType<typeof setInterval>;

  /** Starts sampling. */
  constructor() {
    this.sample();
    this.#timer = setInterval(() => this.sample(), 50);
  }

  /** Takes one sample now. */
  sample(): number {
    const rss = residentBytes();
    if (rss > this.max) this.max = rss;
    return rss;
  }

  /** Stops sampling; returns the peak. */
  stop(): number {
    clearInterval(this.#timer);
    this.sample();
    return this.max;
  }
}
