/**
 * The scenario and result contract, documented field by field in
 * docs/scenario.md. Field names here are public: scripts, CI suites and other
 * people's scenario files rely on them. Add fields freely (and to
 * docs/scenario.md and the validator's field lists); rename none.
 *
 * @example
 * ```ts
 * import type { Scenario } from "./types.ts";
 * const s: Scenario = { name: "idle", guest: { ram: "64MiB", workload: { kind: "idle" } } };
 * ```
 * @module
 */

/**
 * A size: bytes, or a string with an IEC suffix ("256MiB").
 *
 * @example
 * ```ts
 * import type { SizeText } from "./types.ts";
 * const ram: SizeText = "256MiB";
 * const same: SizeText = 256 * 1024 * 1024;
 * ```
 */
export type SizeText = number | string;

/**
 * Workload kinds the vCPU can run.
 *
 * @example
 * ```ts
 * import type { WorkloadKind } from "./types.ts";
 * const kind: WorkloadKind = "hotset";
 * ```
 */
export type WorkloadKind = "idle" | "sequential" | "random" | "hotset" | "xbrle-seed" | "counter";

/**
 * What the guest's vCPU does while it migrates.
 *
 * @example
 * ```ts
 * import type { WorkloadSpec } from "./types.ts";
 * const w: WorkloadSpec = { kind: "hotset", dirtyRate: "64MiB/s", writeBytes: 64 };
 * ```
 */
export interface WorkloadSpec {
  /** The workload the vCPU runs. */
  kind: WorkloadKind;
  /** Page touches per second times the page size, e.g. "64MiB/s". */
  dirtyRate?: SizeText;
  /** Bytes one touch of a page changes (1..4096). */
  writeBytes?: number;
  /** hotset: share of RAM in the hot set (0..1), default 0.05. */
  hotsetRatio?: number;
  /** hotset: share of touches that go to the hot set (0..1), default 0.95. */
  hotsetProbability?: number;
}

/**
 * Balloon behaviours, honest or hostile.
 *
 * @example
 * ```ts
 * import type { BalloonBehaviour } from "./types.ts";
 * const b: BalloonBehaviour = "liar";
 * ```
 */
export type BalloonBehaviour =
  | "honest"
  | "silent"
  | "slow"
  | "stale"
  | "flood"
  | "garbage"
  | "liar";

/**
 * The guest.
 *
 * @example
 * ```ts
 * import type { GuestSpec } from "./types.ts";
 * const g: GuestSpec = {
 *   ram: "32MiB",
 *   fill: "random",
 *   freeRatio: 0.75,
 *   balloon: { behaviour: "honest" },
 *   workload: { kind: "random", dirtyRate: "2MiB/s" },
 * };
 * ```
 */
export interface GuestSpec {
  /** Guest RAM (default "256MiB"), one block named `pc.ram`. */
  ram?: SizeText;
  /** What guest RAM holds at boot (default "random"). */
  fill?: "zero" | "random" | "compressible";
  /** Share of RAM (outside the static free map) the guest considers free at boot, [0, 1). */
  freeRatio?: number;
  /** How the guest's balloon answers free-page hint requests (default "honest"). */
  balloon?: { behaviour: BalloonBehaviour };
  /**
   * Ranges of guest RAM the guest never uses (a static free map); the hint
   * source "static" reports exactly these. Page-aligned sizes.
   */
  staticFreeMap?: { start: SizeText; length: SizeText }[];
  /** What the vCPU does while it migrates (default idle). */
  workload?: WorkloadSpec;
}

/**
 * Fault trigger phases.
 *
 * @example
 * ```ts
 * import type { FaultPhase } from "./types.ts";
 * const p: FaultPhase = "stop-and-copy";
 * ```
 */
export type FaultPhase = "setup" | "bulk" | "round" | "stop-and-copy" | "device-state" | "resume";

/**
 * When a fault fires.
 *
 * @example
 * ```ts
 * import type { FaultTrigger } from "./types.ts";
 * const at: FaultTrigger[] = [{ phase: "round", round: 2 }, { afterBytes: 1 << 20 }, { afterMs: 500 }];
 * ```
 */
export type FaultTrigger =
  | { phase: FaultPhase; round?: number }
  | { afterBytes: number }
  | { afterMs: number };

/**
 * Fault actions.
 *
 * @example
 * ```ts
 * import type { FaultAction } from "./types.ts";
 * const a: FaultAction = "kill-destination";
 * ```
 */
export type FaultAction =
  | "cut-link"
  | "partition"
  | "corrupt"
  | "kill-source"
  | "kill-destination"
  | "stop-source"
  | "stop-destination"
  | "cancel";

/**
 * One fault, as plain data.
 *
 * @example
 * ```ts
 * import type { FaultSpec } from "./types.ts";
 * const f: FaultSpec = { at: { phase: "bulk" }, action: "partition", durationMs: 300 };
 * ```
 */
export interface FaultSpec {
  /** When the fault fires. */
  at: FaultTrigger;
  /** What it does. */
  action: FaultAction;
  /** partition, stop-source, stop-destination: how long, in milliseconds. */
  durationMs?: number;
  /** corrupt: how many bytes of the stream to corrupt. */
  bytes?: number;
}

/**
 * Migration capabilities and parameters.
 *
 * @example
 * ```ts
 * import type { MigrationSpec } from "./types.ts";
 * const m: MigrationSpec = {
 *   capabilities: { xbzrle: true },
 *   parameters: { downtimeLimitMs: 300, xbzrleCacheSize: "32MiB" },
 * };
 * ```
 */
export interface MigrationSpec {
  /** Capabilities by name, on or off (`{ xbzrle: true }`); see the capability table. */
  capabilities?: Record<string, boolean>;
  /**
   * Migration parameters by name (`downtimeLimitMs`, `maxBandwidth`, ...); see the capability
   * table.
   */
  parameters?: Record<string, unknown>;
  /**
   * Where the stream goes (default `{ kind: "tcp" }`, the destination peer). `{ kind: "file" }`
   * saves the guest to a file, then restores it into a fresh destination (docs/mapped_ram.md).
   */
  transport?: TransportSpec;
}

/**
 * The migration's transport: the socket to a destination peer, or a file (saved, then restored).
 *
 * @example
 * ```ts
 * import type { TransportSpec } from "./types.ts";
 * const t: TransportSpec = { kind: "file", path: "guest.ferry", sizeLimit: "300MiB" };
 * ```
 */
export type TransportSpec =
  | { kind: "tcp" }
  | {
    kind: "file";
    /** The file written (kept after the run: the user's output); absent: a temporary file, removed. */
    path?: string;
    /** Largest size the file may reach ("300MiB"): a write past it fails as a full disk does. */
    sizeLimit?: string | number;
    /** Sim mode: the file device's bandwidth ("1GiB/s", default 2GiB/s); real mode: the disk's own. */
    bandwidth?: string | number;
  };

/**
 * The figures of a migration to a file.
 *
 * @example
 * ```ts
 * import type { FileFigures } from "./types.ts";
 * const f: FileFigures = {
 *   sizeBytes: 1 << 20, writtenBytes: 1 << 21, pagesRewritten: 256,
 *   saveMs: 40, restoreMs: 12, writeBytesPerSec: 52428800,
 * };
 * ```
 */
export interface FileFigures {
  /** The file's size (its logical size: zero pages are holes in a mapped-ram file). */
  sizeBytes: number;
  /** Bytes written to it, rewrites and metadata included. */
  writtenBytes: number;
  /** Page writes that overwrote a copy already in the file (0 for a stream file). */
  pagesRewritten: number;
  /** Milliseconds from the start of the migration to the file whole (null: never whole). */
  saveMs: number | null;
  /** Milliseconds to restore the guest from it (null: not restored). */
  restoreMs: number | null;
  /** writtenBytes over saveMs (null: not whole). */
  writeBytesPerSec: number | null;
}

/**
 * The network between the peers.
 *
 * @example
 * ```ts
 * import type { NetworkSpec } from "./types.ts";
 * const n: NetworkSpec = {
 *   bandwidth: "100Mbit",
 *   latencyMs: 2,
 *   schedule: [{ atMs: 3000, bandwidth: "10Mbit" }],
 * };
 * ```
 */
export interface NetworkSpec {
  /** "1Gbit", "100MiB/s", bytes per second, or 0 / "unlimited". */
  bandwidth?: SizeText;
  /** Token-bucket depth ("64KiB"); default the larger of 64 KiB and 10 ms of bandwidth. */
  burst?: SizeText;
  /** One-way latency added to every packet, in milliseconds (default 0). */
  latencyMs?: number;
  /** Extra latency drawn uniformly in [0, jitterMs) per packet (default 0). */
  jitterMs?: number;
  /** Bandwidth changes in time: `[{ atMs: 3000, bandwidth: "10Mbit" }]` (ms since migration start). */
  schedule?: { atMs: number; bandwidth: SizeText }[];
  /** Real mode: shape with `tc tbf` between network namespaces (needs root). */
  kernel?: boolean;
}

/**
 * Simulation settings.
 *
 * @example
 * ```ts
 * import type { SimSpec } from "./types.ts";
 * const sim: SimSpec = { cpuCostUs: { normal: 0.3, xbzrle: 2.5 } };
 * ```
 */
export interface SimSpec {
  /**
   * Virtual CPU microseconds the source spends per page sent, by record kind
   * (`normal`, `zero`, `xbzrle`, `deflate`); default 0 each. Lets a
   * CPU-bound encoder cost time in simulation as it does on a real machine.
   */
  cpuCostUs?: Partial<Record<"normal" | "zero" | "xbzrle" | "deflate", number>>;
}

/**
 * What the scenario expects of the run. These are the only keys: any other
 * is an unknown field and makes the scenario invalid (docs/scenario.md).
 *
 * @example
 * ```ts
 * import type { Expectations } from "./types.ts";
 * const e: Expectations = { outcome: "completed", memoryEqual: true, downtimeMsMax: 300 };
 * ```
 */
export interface Expectations {
  /** How the migration ends. Default "completed". */
  outcome?: Outcome;
  /**
   * Whether the judged memory is equal. Default true (null when `guestLost`
   * is true); null: nothing to compare (the guest died with its process).
   */
  memoryEqual?: boolean | null;
  /** The guest died with a killed peer (kill-source before the switchover). Default false. */
  guestLost?: boolean;
  /** Most milliseconds the guest may be down (a run whose guest never moved fails it). */
  downtimeMsMax?: number;
  /** Most milliseconds from migration start to its end. */
  totalTimeMsMax?: number;
  /** Most stream bytes in all (`bytes.total`; a run that reports none fails it). */
  bytesMax?: number;
}

/**
 * A scenario, as a typed object or JSON.
 *
 * @example
 * ```ts
 * import type { Scenario } from "./types.ts";
 * const s: Scenario = {
 *   name: "idle",
 *   seed: 7,
 *   mode: "sim",
 *   guest: { ram: "64MiB", workload: { kind: "idle" } },
 *   expect: { outcome: "completed", memoryEqual: true },
 * };
 * ```
 */
export interface Scenario {
  /** Letters, digits, ".", "_" and "-"; names the run and its files. */
  name: string;
  /** One line on what the scenario shows. */
  description?: string;
  /** The seed every random choice derives from (default 1). */
  seed?: number;
  /**
   * Two peer processes over sockets ("real", the default) or one process on a virtual clock
   * ("sim").
   */
  mode?: "real" | "sim";
  /** The guest: RAM, fill, free memory, balloon, workload. */
  guest?: GuestSpec;
  /** Capabilities and parameters of the migration. */
  migration?: MigrationSpec;
  /** The link between the peers (default: loopback, unshaped). */
  network?: NetworkSpec;
  /** Faults to inject, as plain data. */
  faults?: FaultSpec[];
  /** After a failed migration, start a fresh destination and migrate again. */
  retry?: boolean;
  /** Simulation mode only (real mode ignores it): the cost model. */
  sim?: SimSpec;
  /** What the run must show; each becomes one entry of `Result.expectations`. */
  expect?: Expectations;
  /** Milliseconds the workload runs before migration starts (default 200). */
  warmupMs?: number;
  /** Milliseconds the destination guest keeps running after resume before the run ends (default 100). */
  settleMs?: number;
  /** What the destination holds before the migration (a checkpoint, for capability hashDedup). */
  destination?: DestinationSpec;
  /** Where each peer runs (real mode; default both `"local"`). */
  hosts?: HostsSpec;
}

/**
 * Where each peer runs: `"local"`, `"netns:NAME"` (an existing network
 * namespace on this machine) or `"ssh://[user@]host[:port][/path]"` (another
 * host, over ssh; `path` is the Ferry checkout there, by default the
 * runner's own path). docs/hosts.md describes it.
 *
 * @example
 * ```ts
 * import type { HostsSpec } from "./types.ts";
 * const h: HostsSpec = { source: "ssh://ci@host-a", destination: "ssh://ci@host-b" };
 * ```
 */
export interface HostsSpec {
  /** Default `"local"`. */
  source?: string;
  /** Default `"local"`. */
  destination?: string;
}

/**
 * A checkpoint the destination holds (capability `hashDedup`): a copy of this
 * guest's RAM taken `atMs` after it starts running (before the migration), or
 * a file, an ELF core in the layout of QEMU's `dump-guest-memory` or a Ferry
 * checkpoint.
 *
 * @example
 * ```ts
 * import type { CheckpointSpec } from "./types.ts";
 * const c: CheckpointSpec = { source: "file", path: "guest.elf", format: "elf" };
 * ```
 */
export type CheckpointSpec =
  | { source: "guest"; atMs: number }
  | { source: "file"; path: string; format: "elf" | "ferry" };

/**
 * What the destination holds before the migration.
 *
 * @example
 * ```ts
 * import type { DestinationSpec } from "./types.ts";
 * const d: DestinationSpec = { checkpoint: { source: "guest", atMs: 100 } };
 * ```
 */
export interface DestinationSpec {
  /** A checkpoint of the guest's memory (capability hashDedup). */
  checkpoint?: CheckpointSpec;
}

/**
 * Statistics of capability `hashDedup`. A figure its peer did not report is null.
 *
 * @example
 * ```ts
 * import type { HashStatsRecord } from "./types.ts";
 * const h: HashStatsRecord = {
 *   checkpointHits: 9, receivedHits: 1, unresolved: 0, sourceHashMs: 3, destinationHashMs: 2,
 *   fallback: null,
 * };
 * ```
 */
export interface HashStatsRecord {
  /** HASH records resolved from the destination's checkpoint. */
  checkpointHits: number | null;
  /** HASH records resolved from a page this migration had already put on the destination. */
  receivedHits: number | null;
  /** HASH records the destination could not resolve (it asked for the page in full). */
  unresolved: number | null;
  /** Milliseconds of the source's clock spent hashing pages. */
  sourceHashMs: number | null;
  /** Milliseconds of the destination's clock spent hashing during the migration. */
  destinationHashMs: number | null;
  /** Why the migration fell back to plain precopy (the checkpoint was unusable); null: it did not. */
  fallback: string | null;
  /** Distinct non-zero pages the destination indexed from its checkpoint. */
  checkpointPages?: number | null;
  /** Milliseconds the destination spent indexing its checkpoint (before the migration). */
  checkpointIndexMs?: number | null;
}

/**
 * How a migration ended.
 *
 * @example
 * ```ts
 * import type { Outcome } from "./types.ts";
 * const o: Outcome = "cancelled";
 * ```
 */
export type Outcome = "completed" | "failed" | "cancelled";

/**
 * One record per dirty-log sync, as query-migrate reports it.
 *
 * @example
 * ```ts
 * import type { ProgressRecord } from "./types.ts";
 * const line = (p: ProgressRecord) =>
 *   `${p.phase} ${p.round}: ${p.dirtyPages} pages dirty, ${p.expectedDowntimeMs} ms expected`;
 * ```
 */
export interface ProgressRecord {
  /** Milliseconds since migration start. */
  timeMs: number;
  /** 0 for the bulk pass, then 1, 2, ... */
  round: number;
  /** "bulk", "round" or "stop-and-copy". */
  phase: string;
  /** Stream bytes the source had written at this sync. */
  transferredBytes: number;
  /** Bytes of the pages dirty at this sync (dirtyPages times the page size). */
  remainingBytes: number;
  /** Pages dirty at this sync: what the next section sends. */
  dirtyPages: number;
  /** Bytes dirtied since the previous sync, per second. */
  dirtyRateBytesPerSec: number;
  /** The sending rate the source measured (bytes per second; 0 before the first measurement). */
  bandwidthBytesPerSec: number;
  /**
   * How long sending the dirty pages would take at the measured bandwidth (Infinity before a
   * measurement); the source stops the guest once this is within downtimeLimitMs.
   */
  expectedDowntimeMs: number;
  /**
   * With xbzrle or compress on: the stream bytes one dirty page cost in the
   * last section; expectedDowntimeMs is dirtyPages times this over the
   * bandwidth (plain precopy counts a full page).
   */
  wireBytesPerPage?: number;
  /** With xbzrle on: its statistics at this sync (rates over the round just sent). */
  xbzrle?: XbzrleStatsRecord;
  /** With compress on: its statistics at this sync. */
  compression?: CompressionStatsRecord;
  /**
   * Further figures a capability adds (free-page hints add `hintPagesSkipped`, `hintsRejected`,
   * `hintRequestsTimedOut`).
   */
  [key: string]: unknown;
}

/**
 * XBZRLE statistics, as QEMU's `info migrate` shows them. Counters are
 * cumulative; the two rates cover a period: the round just sent in a
 * progress record, the whole migration in the result.
 *
 * @example
 * ```ts
 * import type { XbzrleStatsRecord } from "./types.ts";
 * // Every page looked up after the bulk pass: a miss, unchanged, an overflow or a delta.
 * const lookups = (s: XbzrleStatsRecord) =>
 *   s.cacheMisses + s.unchangedPages + s.overflows + s.pages;
 * ```
 */
export interface XbzrleStatsRecord {
  /** Bytes of the source's page cache (xbzrleCacheSize, capped at the guest's RAM). */
  cacheSizeBytes: number;
  /** Bytes of XBZRLE records, heads included. */
  bytes: number;
  /** Pages sent as XBZRLE deltas. */
  pages: number;
  /** Dirty pages equal to their cached copy: nothing sent. */
  unchangedPages: number;
  /** Non-zero dirty pages looked up after the bulk pass and not found in the cache (sent in full). */
  cacheMisses: number;
  /** cacheMisses / pages looked up in the period (0 when none was). */
  cacheMissRate: number;
  /** Page bytes the deltas stand for / bytes of the deltas in the period (0 when none was sent). */
  encodingRate: number;
  /** Deltas longer than xbzrleOverflowBytes: the page went in full. */
  overflows: number;
}

/**
 * Page-compression statistics. Times are on the engine's clock (virtual in simulation).
 *
 * @example
 * ```ts
 * import type { CompressionStatsRecord } from "./types.ts";
 * const saved = (s: CompressionStatsRecord) => s.bytesBefore - s.bytesAfter;
 * ```
 */
export interface CompressionStatsRecord {
  /** The compressor ("deflate" or "zstd"). */
  method: string;
  /** Its compression level. */
  level: number;
  /** Pages in batches given to the compressor. */
  pages: number;
  /** Batches of consecutive pages given to the compressor. */
  batches: number;
  /** Batches that did not shrink and went uncompressed. */
  incompressibleBatches: number;
  /** Page bytes given to the compressor. */
  bytesBefore: number;
  /** What those pages cost in the stream's data: compressed bytes, or the raw bytes of batches that did not shrink. */
  bytesAfter: number;
  /** bytesAfter / bytesBefore (0 before any batch). */
  ratio: number;
  /** Milliseconds the source spent compressing. */
  compressMs: number;
  /** Milliseconds the destination spent decompressing (in the result, when it reported). */
  decompressMs?: number;
}

/**
 * Counters by kind of page record.
 *
 * @example
 * ```ts
 * import type { KindCounters } from "./types.ts";
 * const pages: KindCounters = { total: 3, normal: 1, zero: 1, xbzrle: 1 };
 * ```
 */
export interface KindCounters {
  /** Every record of every kind. */
  total: number;
  /** Pages sent in full. */
  normal: number;
  /** Zero pages (a record without page data). */
  zero: number;
  /**
   * Other kinds: `xbzrle`, `deflate`, `overhead` (stream framing), `skipped` (pages only: hinted free, not sent).
   */
  [kind: string]: number;
}

/**
 * One expectation and whether it held.
 *
 * @example
 * ```ts
 * import type { ExpectationResult } from "./types.ts";
 * const e: ExpectationResult = { name: "downtimeMsMax", ok: true, detail: "161.2 ms, limit 300 ms" };
 * ```
 */
export interface ExpectationResult {
  /**
   * The expectation's name, as in the scenario's `expect` (`outcome`, `memoryEqual`,
   * `downtimeMsMax`, ...).
   */
  name: string;
  /** Whether it held. */
  ok: boolean;
  /** What was measured against what was expected, in words. */
  detail: string;
}

/**
 * A fault that fired.
 *
 * @example
 * ```ts
 * import type { FaultRecord } from "./types.ts";
 * const where = (f: FaultRecord) => `${f.action} in ${f.phase}, round ${f.round}, at byte ${f.bytes}`;
 * ```
 */
export interface FaultRecord {
  /** What the fault did. */
  action: FaultAction;
  /** The trigger it was scheduled with. */
  at: FaultTrigger;
  /** Milliseconds since the migration started. */
  firedAtMs: number;
  /** The phase the source was in (for `resume`: the destination's). */
  phase: string;
  /** The source's round when it fired (0: the bulk pass or before). */
  round: number;
  /** The source's stream offset when it fired. */
  bytes: number;
  /** What the harness saw: the injection, the link, each peer's outcome, the source guest. */
  observed: string;
  /** partition, stop-*: the duration asked for. */
  durationMs?: number;
  /** corrupt: bytes corrupted. */
  corruptBytes?: number;
  /** The migration attempt it fired in (2: after a retry). */
  attempt?: number;
  /** Milliseconds from the fault to the end of the source's migration (null: unknown, or before it). */
  endedAfterMs?: number | null;
  /** Milliseconds from the fault to the end of the destination's migration (null: unknown, or before it). */
  destinationEndedAfterMs?: number | null;
}

/**
 * One migration attempt (a retry makes a second one).
 *
 * @example
 * ```ts
 * import type { AttemptRecord } from "./types.ts";
 * const retried = (attempts: AttemptRecord[]) => attempts.length > 1;
 * ```
 */
export interface AttemptRecord {
  /** 1 for the first attempt, 2 for the one after a retry. */
  attempt: number;
  /** How the source ended this attempt. */
  outcome: Outcome;
  /** The source's error, if it failed. */
  error?: string;
  /** How the destination ended this attempt. */
  destinationOutcome: string;
  /** The destination's error, if it reported one. */
  destinationError?: string | null;
  /** Whether the destination resumed the guest in this attempt. */
  destinationResumed: boolean;
}

/**
 * Why ranges were refused. Batches refused whole count all their ranges.
 *
 * @example
 * ```ts
 * import type { HintRejections } from "./types.ts";
 * const refused = (r: HintRejections) => Object.values(r).reduce((a, b) => a + b, 0);
 * ```
 */
export interface HintRejections {
  /** The batch's command id is not the current one. */
  stale: number;
  /** The batch's command is current but its request timed out. */
  late: number;
  /** Address or length not a multiple of the page size (or not a number). */
  unaligned: number;
  /** Length zero, negative or above the longest range accepted. */
  length: number;
  /** Not inside one RAM block. */
  outOfRange: number;
  /** Overlaps a range already taken for the same request. */
  overlap: number;
  /** Beyond the request's budget of ranges. */
  budget: number;
  /** Batches whose shape is wrong (count not in 0..ranges.length/2 or too large). */
  malformed: number;
}

/**
 * What hinting did, for the report and the progress records.
 *
 * @example
 * ```ts
 * import type { HintStats } from "./types.ts";
 * const skippedPerRequest = (h: HintStats) => h.requests > 0 ? h.pagesSkipped / h.requests : 0;
 * ```
 */
export interface HintStats {
  /** The hint source's name ("balloon", "static"). */
  source: string;
  /** Hint requests the source made (one per section at most). */
  requests: number;
  /** Requests the source said it had fully answered in time. */
  answered: number;
  /** Requests whose timeout passed before the source said it was done. */
  timedOut: number;
  /** Requests retired by the next sync before they were answered or timed out. */
  superseded: number;
  /** Ranges accepted and applied to the dirty bitmap. */
  rangesAccepted: number;
  /** Dirty bits cleared by accepted hints: pages that were not sent then. */
  pagesSkipped: number;
  /**
   * Dirty pages an accepted hint named free but that were sent anyway: the
   * source had sent them before while the guest ran, so the destination holds
   * a copy that may be torn, and only a fresh copy makes it whole.
   */
  pagesAlreadySent: number;
  /** Ranges refused, by reason. */
  rejected: HintRejections;
}

/**
 * The result of one run.
 *
 * @example
 * ```ts
 * import type { Result } from "./types.ts";
 * const verdict = (r: Result) => `${r.scenario}: ${r.outcome}, ${r.passed ? "passed" : "failed"}`;
 * ```
 */
export interface Result {
  /** The scenario's name. */
  scenario: string;
  /** The seed the run used (the scenario's, or the one given on the command line). */
  seed: number;
  /** The mode it ran in. */
  mode: "real" | "sim";
  /** How the migration ended. */
  outcome: Outcome;
  /** Why it failed or was cancelled. */
  error?: string;
  /**
   * Whether the judged memory is equal (see `memoryCheck`); null when there was nothing to compare
   * (the guest was lost).
   */
  memoryEqual: boolean | null;
  /** Pages that differ (0 when equal or not compared). */
  mismatchedPages: number;
  /** The first few of them, as `block+0xoffset`. */
  mismatchedAddresses: string[];
  /**
   * Milliseconds from the source guest's stop to the destination guest's resume; null when the
   * guest never resumed on the destination.
   */
  downtimeMs: number | null;
  /**
   * Milliseconds from the start of the migration to the destination's acknowledgement (or to the
   * source's end, without one).
   */
  totalTimeMs: number;
  /** Milliseconds from the start of the migration to the end of its setup. */
  setupTimeMs: number;
  /** Dirty-log syncs: one per progress record. */
  iterations: number;
  /** Stream bytes by kind of record; null when no peer reported them (the source died). */
  bytes: KindCounters | null;
  /** Pages by kind of record; null when no peer reported them. */
  pages: KindCounters | null;
  /** One record per dirty-log sync. */
  progress: ProgressRecord[];
  /** The faults that fired, in order. */
  faults: FaultRecord[];
  /** Each expectation of the scenario and whether it held. */
  expectations: ExpectationResult[];
  /** Whether every expectation held. */
  passed: boolean;
  /** Every figure that depends on the wall clock or the machine. */
  wall: Record<string, unknown>;
  /** What `memoryEqual` compared: the destination against the source, or the source against a replay of its workload. */
  memoryCheck?: string;
  /** The `counter` workload's invariant on the judged memory (null for other workloads). */
  counterInvariant?: {
    ok: boolean;
    detail: string;
    /** Set when the guest's balloon lied about this many pages, some of them differ, and the invariant broke: the guest's own loss, not counted against memoryEqual. */
    liarPages?: number;
  } | null;
  /** Whether the source guest runs at the end, as its peer reported it (it must, unless the migration completed). */
  sourceGuestRunning?: boolean;
  /** Whether the destination guest runs at the end, as its peer reported it (it must, if and only if the migration completed). */
  destinationGuestRunning?: boolean;
  /** RAM sections sent, the bulk pass and the stop-and-copy included. */
  rounds?: number;
  /**
   * Whether the expected downtime came within the limit (false: stopped by maxRounds or maxTimeMs,
   * or never stopped).
   */
  converged?: boolean;
  /** Stop-and-copy was forced by maxRounds or maxTimeMs. */
  forcedStop?: boolean;
  /** XBZRLE statistics for the whole migration (null when xbzrle is off). */
  xbzrle?: XbzrleStatsRecord | null;
  /** Compression statistics for the whole migration (null when compress is off). */
  compression?: CompressionStatsRecord | null;
  /** Free-page hint statistics (with the capability freePageHints). */
  hints?: HintStats;
  /** Checkpoint-assisted migration statistics (with the capability hashDedup). */
  hash?: HashStatsRecord | null;
  /** Pages free in the guest's view at stop: their content does not count (the guest never reads them). */
  freePagesExcluded?: number;
  /** Pages the guest's balloon reported free while they were in use (a liar). */
  liedPages?: number;
  /** Pages that differ only because the guest lied about them; not counted in mismatchedPages. */
  liarMismatchedPages?: number;
  /** The first few of them, as `block+0xoffset`. */
  liarMismatchedAddresses?: string[];
  /** What the destination reported. */
  destination?: {
    outcome: Outcome;
    error: string | null;
    receivedBytes: number;
    touchesAfterResume: number;
    /** Whether it resumed the guest (false: discarded, or died first). */
    resumed?: boolean;
  } | null;
  /** The guest died with a killed peer before the switchover: nothing left to check. */
  guestLost?: boolean;
  /** Every migration attempt, in order (two with `retry` after a failure). */
  attempts?: AttemptRecord[];
  /** Faults that never fired, and why. */
  faultsNotFired?: { index: number; action: string; at: FaultTrigger; reason: string }[];
  /** The link between the peers: direct, the shaping proxy or the kernel, and what it did. */
  network?: {
    link: "direct" | "proxy" | "kernel" | "sim";
    events: { atMs: number; what: string }[];
  };
  /** A migration to a file: its figures (null: the transport is not a file). */
  file?: FileFigures | null;
  /** What the run left behind after the runner cleaned up (all empty when clean). */
  cleanup?: {
    processesLeft: number[];
    tempFilesLeft: string[];
    namespacesLeft: string[];
    /** Peers or files left on other hosts (`hosts`), as `host: what`; absent when none. */
    remoteLeft?: string[];
  };
  /** Further figures, by capability or mode. */
  [key: string]: unknown;
}

/**
 * How two sets of page digests compare.
 *
 * @example
 * ```ts
 * import type { DigestComparison } from "./types.ts";
 * const c: DigestComparison = {
 *   memoryEqual: false,
 *   mismatchedPages: 1,
 *   mismatchedAddresses: ["pc.ram+0x1000"],
 * };
 * ```
 */
export interface DigestComparison {
  /** Whether every compared page is equal. */
  memoryEqual: boolean;
  /** Pages that differ. */
  mismatchedPages: number;
  /** The first few mismatching pages, as `block+0xoffset`. */
  mismatchedAddresses: string[];
  /** Pages left out because the guest held them free. */
  freePagesExcluded?: number;
  /** Pages that differ where the guest's balloon lied; not in `mismatchedPages`. */
  liarMismatchedPages?: number;
  /** The first few of them, as `block+0xoffset`. */
  liarMismatchedAddresses?: string[];
}
