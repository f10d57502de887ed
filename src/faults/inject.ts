/**
 * Fault injection: turns a fault that fires into calls on whatever carries
 * out faults in the mode at hand. Real mode implements {@link FaultTargets}
 * with the shaping proxy (or the kernel link), signals to the peer processes
 * and the control channel; a simulation implements it with its simulated
 * link and engines.
 *
 * @example
 * ```ts
 * import { injectFault } from "./inject.ts";
 * const calls: string[] = [];
 * await injectFault({ action: "partition", durationMs: 50 }, 4096, {
 *   cutLink: () => {},
 *   partition: (ms, at) => void calls.push(`partition ${ms} ms at ${at}`),
 *   corrupt: () => {},
 *   kill: () => {},
 *   stop: () => {},
 *   cancel: () => {},
 * });
 * console.log(calls); // ["partition 50 ms at 4096"]
 * ```
 * @module
 */
import type { FaultSpec } from "../contract/types.ts";

/**
 * A peer of the migration.
 *
 * @example
 * ```ts
 * import type { PeerRole } from "./inject.ts";
 * const victim: PeerRole = "destination";
 * ```
 */
export type PeerRole = "source" | "destination";

/**
 * What carries out faults. Each call starts the fault and resolves once it has begun.
 *
 * @example
 * ```ts
 * import type { FaultTargets } from "./inject.ts";
 * const log: string[] = [];
 * const targets: FaultTargets = {
 *   cutLink: (at) => void log.push(`cut at byte ${at}`),
 *   partition: (ms) => void log.push(`partition for ${ms} ms`),
 *   corrupt: (n) => void log.push(`corrupt ${n} bytes`),
 *   kill: (role) => void log.push(`kill the ${role}`),
 *   stop: (role, ms) => void log.push(`stop the ${role} for ${ms} ms`),
 *   cancel: () => void log.push("cancel"),
 * };
 * ```
 */
export interface FaultTargets {
  /** Breaks the link for good once the source's stream reaches `atByte`. */
  cutLink(atByte: number): void | Promise<void>;
  /** Nothing moves either way for `durationMs`, from `atByte` of the stream on. */
  partition(durationMs: number, atByte: number): void | Promise<void>;
  /** Flips a bit in each of `bytes` bytes of the stream from `atByte` on. */
  corrupt(bytes: number, atByte: number): void | Promise<void>;
  /** Kills the peer at once (kill -9). */
  kill(role: PeerRole): void | Promise<void>;
  /** Stops the peer (SIGSTOP) and continues it (SIGCONT) `durationMs` later; resolves once stopped. */
  stop(role: PeerRole, durationMs: number): void | Promise<void>;
  /** Cancels the migration, as an operator would. */
  cancel(): void | Promise<void>;
}

/**
 * Carries out one fault; `atByte` is the source's stream offset where it fired.
 *
 * @example
 * ```ts
 * import { injectFault } from "./inject.ts";
 * const killed: string[] = [];
 * await injectFault({ action: "kill-source" }, 0, {
 *   cutLink() {},
 *   partition() {},
 *   corrupt() {},
 *   kill: (role) => void killed.push(role),
 *   stop() {},
 *   cancel() {},
 * });
 * console.log(killed); // ["source"]
 * ```
 */
export async function injectFault(
  fault: Pick<FaultSpec, "action" | "durationMs" | "bytes">,
  atByte: number,
  targets: FaultTargets,
): Promise<void> {
  switch (fault.action) {
    case "cut-link":
      return await targets.cutLink(atByte);
    case "partition":
      return await targets.partition(fault.durationMs!, atByte);
    case "corrupt":
      return await targets.corrupt(fault.bytes ?? 1, atByte);
    case "kill-source":
      return await targets.kill("source");
    case "kill-destination":
      return await targets.kill("destination");
    case "stop-source":
      return await targets.stop("source", fault.durationMs!);
    case "stop-destination":
      return await targets.stop("destination", fault.durationMs!);
    case "cancel":
      return await targets.cancel();
    default:
      throw new TypeError(`Fault action ${JSON.stringify(fault.action)} has no injector`);
  }
}
