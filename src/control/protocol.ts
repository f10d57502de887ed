/**
 * Control messages between the runner and the peers. Runner to peer:
 * `configure`, `ping`, `start`, `cancel`, `quit`, `continue`, `cont`. Peer to
 * runner: `hello`, `pong`, `ready`, `phase`, `bytes`, `progress`, `outcome`,
 * `digest`, `result`, `error`.
 *
 * Holds (fault injection): a peer configured with `holdAt` phases (or, the
 * source, `holdAtBytes` stream offsets) reports `phase` (or `bytes`) there and
 * waits for `continue`. A destination holding at `resume` has loaded the
 * guest and resumes it only on `continue`; `quit` there discards it (the
 * runner confirms the switchover only after the source completed, as libvirt
 * resumes the destination only after the source's Perform step). After a
 * failed attempt the source accepts `start` again (retry with a fresh
 * destination); after a completed one whose destination never resumed, `cont`
 * resumes the source's guest and it sends a new `digest` with its intact check.
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
import type { DigestComparison, FaultPhase, ProgressRecord } from "../contract/types.ts";
import type { SourceReport } from "../engine/source.ts";
import type { FileSinkReport } from "../engine/file_sink.ts";

import type { GuestConfig } from "../guest/replay.ts";
import type { BlockSpec } from "../guest/ram.ts";
import type { DestinationHashRecord } from "../engine/hash_dedup.ts";
export type { GuestConfig };

/** A peer's configuration. */
export interface PeerConfig {
  migration: MigrationConfig;
  /** Source only. */
  guest?: GuestConfig;
  /**
   * Both peers: the migration's secret and id; the migration connection opens
   * with the mutual handshake of src/net/handshake.ts. Travels only on the
   * control channel, never on a command line or in a log.
   */
  auth?: { secret: Uint8Array; migrationId: string };
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
  /** Source only: stream offsets at which it reports `bytes` and waits for `continue`. */
  holdAtBytes?: number[];
  /**
   * Source only: bound the migration socket's kernel send buffer to this
   * (over a shaped link, so that it buffers what a real path would).
   */
  sendBufferBytes?: number;
  /** Destination only: the checkpoint it indexes before it is ready (capability hashDedup). */
  checkpoint?: { path: string; format: "elf" | "ferry" };
  /**
   * A file transport (docs/mapped_ram.md). The source saves to `path`
   * through the file sink instead of connecting to a destination; the
   * destination listens for nothing and, on `restore`, restores the guest
   * from `path`.
   */
  file?: FilePeerConfig;
}

/** Where a file transport's file is, how it is laid out, and how large it may grow. */
export interface FilePeerConfig {
  path: string;
  layout: "mapped" | "stream";
  /** A write past this size fails as a full disk does; null: no limit. */
  sizeLimitBytes: number | null;
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
  /** When its migration ended (loaded, failed or cancelled), on the peer's clock. */
  endAtMs?: number;
  /** Held at `resume` and told to quit: the loaded guest was discarded, never resumed. */
  discarded?: boolean;
  /** Capability hashDedup's counters (absent when the source did not ask for it). */
  hash?: DestinationHashRecord;
  /** With a file transport: milliseconds the restore took (null: not restored). */
  restoreMs?: number | null;
}

/** A destination summary for a migration that never got anywhere (no stream, a dead peer). */
export function emptyDestinationSummary(error?: string): DestinationSummary {
  return {
    outcome: "failed",
    error,
    firstByteAtMs: null,
    loadedAtMs: null,
    resumeAtMs: null,
    digestMs: 0,
    receivedBytes: 0,
    rounds: 0,
    touchesAfterResume: 0,
    counter: null,
  };
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
  /** Destination with a file transport: restore the guest from the file, then resume it. */
  | { type: "restore" }
  | { type: "quit" }
  /** Resume the source's guest: the destination never resumed it. */
  | { type: "cont" }
  /** `bytes`: the source's stream offset as the phase begins. */
  | { type: "phase"; phase: FaultPhase; round: number; atMs: number; bytes?: number }
  | { type: "bytes"; bytes: number; atMs: number }
  /** The source's migration ended (sent at once, before the digest). */
  | { type: "outcome"; outcome: "completed" | "failed" | "cancelled"; error?: string; atMs: number }
  | { type: "progress"; record: ProgressRecord }
  | {
    type: "digest";
    /** 16 bytes per page: SHA-256 truncated. */
    pages: Uint8Array;
    blocks: { name: string; pages: number }[];
    counter: { ok: boolean; detail: string } | null;
    /** Source only, after a failure or cancel: the guest against a replay of its workload. */
    intact?: DigestComparison | null;
    /** Source only: the guest's free-page view at stop (bit per page), whose pages do not count. */
    free?: Uint8Array | null;
    /** Source only: the pages its balloon falsely reported free (bit per page). */
    lied?: Uint8Array | null;
    /** Source only: the report of the attempt just ended. */
    report?: SourceReport;
    /** Source only, with a file transport: what the file sink reported (peer clock). */
    fileSink?: FileSinkReport;
    /** Destination only: when its guest resumed (peer clock). */
    resumeAtMs?: number;
    /** Destination only: milliseconds its digest took, before the guest resumed. */
    digestMs?: number;
    atMs: number;
  }
  | {
    type: "result";
    source?: SourceReport;
    destination?: DestinationSummary;
    rssBytesMax: number;
    /** Whether its guest's vCPU was still running when the runner said quit. */
    guestRunning?: boolean;
  }
  | { type: "error"; message: string }
  /** Source: save a Ferry checkpoint of the guest's RAM to `path` (destination.checkpoint). */
  | { type: "checkpoint"; path: string }
  /** Source: the checkpoint is saved (`error`: it could not be). */
  | { type: "checkpointed"; bytes: number; error?: string };
