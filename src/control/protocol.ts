/**
 * Control messages between the runner and the peers. Runner to peer:
 * `configure`, `ping`, `start`, `cancel`, `quit`, `continue`. Peer to runner:
 * `hello`, `pong`, `ready`, `phase`, `progress`, `digest`, `result`, `error`.
 *
 * Clock offset: the runner sends `ping { t0 }`; the peer answers
 * `pong { t0, peerMs }`; with `t1` the arrival time, the peer's offset is
 * `peerMs - (t0 + t1) / 2`, taken from the sample with the smallest round trip.
 *
 * @example
 * ```ts
 * import type { ControlMessage } from "./protocol.ts";
 * const m: ControlMessage = { type: "ping", t0: 0 };
 * ```
 * @module
 */
import type { MigrationConfig } from "../engine/capabilities.ts";
import type { FillKind } from "../guest/fill.ts";
import type { BlockSpec } from "../guest/ram.ts";
import type { WorkloadConfig } from "../guest/workload.ts";
import type { FaultPhase, ProgressRecord } from "../scenario/types.ts";
import type { SourceReport } from "../engine/source.ts";
import type { DigestComparison } from "../scenario/checker.ts";

/** The source guest, as the runner configures it. */
export interface GuestConfig {
  blocks: BlockSpec[];
  fill: FillKind;
  seed: number;
  workload: WorkloadConfig;
}

/** A peer's configuration. */
export interface PeerConfig {
  migration: MigrationConfig;
  /** Source only. */
  guest?: GuestConfig;
  /** Destination only: where to listen for the migration stream. */
  listen?: { hostname: string; port: number };
  /** Destination only: the largest guest it accepts. */
  maxRamBytes?: number;
  /**
   * Destination only: allocate and touch this RAM before the stream arrives,
   * as QEMU's destination is started with the guest's memory (-mem-prealloc);
   * the stream's blocks must then match it exactly.
   */
  ram?: BlockSpec[];
  /** Phases at which the peer waits for `continue` before going on (fault injection). */
  holdAt?: FaultPhase[];
}

/** What the destination reports in its result. */
export interface DestinationSummary {
  outcome: "completed" | "failed" | "cancelled";
  error?: string;
  firstByteAtMs: number | null;
  loadedAtMs: number | null;
  resumeAtMs: number | null;
  digestMs: number;
  receivedBytes: number;
  rounds: number;
  /** Touches the resumed workload made on the destination before quit. */
  touchesAfterResume: number;
  /** Milliseconds spent decompressing compressed records (compress only). */
  decompressMs?: number;
  counter: { ok: boolean; detail: string } | null;
}

/** Every control message. */
export type ControlMessage =
  | { type: "hello"; role: "source" | "destination"; pid: number }
  | { type: "configure"; config: PeerConfig }
  | { type: "ping"; t0: number }
  | { type: "pong"; t0: number; peerMs: number }
  | { type: "ready"; port?: number; rssBytes?: number }
  | { type: "start"; connect: { hostname: string; port: number } }
  | { type: "cancel"; reason?: string }
  | { type: "continue" }
  | { type: "quit" }
  | { type: "phase"; phase: FaultPhase; round: number; atMs: number }
  | { type: "progress"; record: ProgressRecord }
  | {
    type: "digest";
    /** 16 bytes per page: SHA-256 truncated. */
    pages: Uint8Array;
    blocks: { name: string; pages: number }[];
    counter: { ok: boolean; detail: string } | null;
    /** Source only, after a failure or cancel: the guest against a replay of its workload. */
    intact?: DigestComparison | null;
    atMs: number;
  }
  | {
    type: "result";
    source?: SourceReport;
    destination?: DestinationSummary;
    rssBytesMax: number;
    /** Source only: whether its vCPU was still running when the runner said quit. */
    guestRunning?: boolean;
  }
  | { type: "error"; message: string };
