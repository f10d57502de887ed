/**
 * A message loop over a control channel: messages are queued by type and
 * waited for by type, with an optional timeout; a hook sees every message
 * first (to answer pings, count progress).
 *
 * @example
 * ```ts ignore
 * const inbox = new Inbox(channel);
 * const ready = await inbox.wait("ready", { timeoutMs: 30_000, what: "destination" });
 * ```
 * @module
 */
import type { ControlChannel } from "./channel.ts";
import type { ControlMessage } from "./protocol.ts";

/** The message of a given type. */
export type MessageOf<T extends ControlMessage["type"]> = Extract<ControlMessage, { type: T }>;

/** Queues a channel's messages by type. */
export class Inbox {
  readonly channel: ControlChannel;
  #waiting = new Map<string, { resolve: (m: ControlMessage) => void }[]>();
  #queued = new Map<string, ControlMessage[]>();
  #ended = false;
  #endReason = "";
  #enders = new Set<(reason: string) => void>();
  /** Resolves when the channel ends. */
  readonly closed: Promise<void>;

  /** Starts reading `channel`; `hook` returns true for a message it consumed. */
  constructor(channel: ControlChannel, hook?: (m: ControlMessage) => boolean | Promise<boolean>) {
    this.channel = channel;
    this.closed = (async () => {
      try {
        for (;;) {
          const m = await channel.next();
          if (!m) {
            this.#endReason = "the connection closed";
            return;
          }
          if (hook && (await hook(m))) continue;
          const w = this.#waiting.get(m.type);
          if (w?.length) w.shift()!.resolve(m);
          else {
            const q = this.#queued.get(m.type) ?? [];
            q.push(m);
            this.#queued.set(m.type, q);
          }
        }
      } catch (e) {
        this.#endReason = (e as Error).message;
      } finally {
        this.#ended = true;
        for (const end of this.#enders) end(this.#endReason);
      }
    })();
  }

  /** Whether the channel has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Takes a queued message of `type` without waiting, or undefined. */
  take<T extends ControlMessage["type"]>(type: T): MessageOf<T> | undefined {
    return this.#queued.get(type)?.shift() as MessageOf<T> | undefined;
  }

  /**
   * Waits for the next message of `type`. Rejects with an Error naming `what`
   * when the channel ends first or `timeoutMs` passes.
   */
  wait<T extends ControlMessage["type"]>(
    type: T,
    options: { timeoutMs?: number; what?: string } = {},
  ): Promise<MessageOf<T>> {
    const queued = this.take(type);
    if (queued) return Promise.resolve(queued);
    const what = options.what ?? "the peer";
    if (this.#ended) {
      return Promise.reject(new Error(`${what} ended (${this.#endReason}) before sending ${type}`));
    }
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const entry = {
        resolve: (m: ControlMessage) => {
          done();
          resolve(m as MessageOf<T>);
        },
      };
      const onEnd = (reason: string) => {
        done();
        reject(new Error(`${what} ended (${reason}) before sending ${type}`));
      };
      const done = () => {
        clearTimeout(timer);
        this.#enders.delete(onEnd);
        const list = this.#waiting.get(type);
        const i = list?.indexOf(entry) ?? -1;
        if (i >= 0) list!.splice(i, 1);
      };
      const list = this.#waiting.get(type) ?? [];
      list.push(entry);
      this.#waiting.set(type, list);
      this.#enders.add(onEnd);
      if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
        timer = setTimeout(() => {
          done();
          reject(new Error(`${what} sent no ${type} within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
    });
  }
}
