/**
 * The fault matrix: every fault action at every phase, each a scenario
 * stating its expected outcome, plus the cases that need more than one row:
 * stalls longer than the peers' timeout (silent peers), byte and time
 * triggers, silent corruption of page data, and retry.
 *
 * The guest is small (16 MiB) and never converges (downtime limit 0, a
 * counter workload), so every migration goes through setup, the bulk pass,
 * rounds 1 and 2, a forced stop-and-copy, the device state and the
 * destination's resume, in well under a second on loopback.
 *
 * Expected outcomes, short stalls (300 ms) under a 1000 ms peer timeout:
 *
 * | action           | setup .. device-state                 | resume                                 |
 * | ---------------- | ------------------------------------- | -------------------------------------- |
 * | cut-link         | failed, source guest intact           | completed (nothing left on the link)   |
 * | partition        | completed (ridden out)                | completed                              |
 * | corrupt (1 byte) | failed (a section header is hit)      | completed (nothing left to corrupt)    |
 * | kill-source      | failed, the guest dies with it        | completed (already handed over)        |
 * | kill-destination | failed, source guest intact           | failed: the source guest resumes       |
 * | stop-source      | completed (ridden out)                | completed                              |
 * | stop-destination | completed (ridden out)                | completed                              |
 * | cancel           | cancelled, source guest intact        | completed (too late to cancel)         |
 *
 * A corrupt fault at a phase boundary hits the first byte of the next
 * section (the stream offset the phase began at), which the hostile reader
 * always refuses.
 *
 * @example
 * ```ts ignore
 * import { faultMatrix } from "./matrix.ts";
 * for (const row of faultMatrix()) console.log(row.scenario.name, row.scenario.expect?.outcome);
 * ```
 * @module
 */
import type { FaultAction, FaultPhase, FaultSpec, Scenario } from "../../src/contract/types.ts";
import { FAULT_ACTIONS } from "../../src/scenario/validate.ts";

/** Peer timeout of the matrix: stalls shorter are ridden out, longer ones fail. */
export const MATRIX_PEER_TIMEOUT_MS = 1000;
/** A stall the peers ride out. */
export const SHORT_STALL_MS = 300;
/** A stall longer than the peer timeout. */
export const LONG_STALL_MS = 2500;

/** Every action. */
export const ACTIONS: FaultAction[] = [...FAULT_ACTIONS];
/** Every phase a fault can be triggered at. */
export const PHASES: FaultPhase[] = [
  "setup",
  "bulk",
  "round",
  "stop-and-copy",
  "device-state",
  "resume",
];

/** One row: a scenario and what the row checks beyond the scenario's own expectations. */
export interface MatrixRow {
  scenario: Scenario;
  /** The peer that stopped talking must be noticed within the timeout (plus slack). */
  silent?: boolean;
  /** Attempts the run must make (2: a retry). */
  attempts?: number;
}

const base = (name: string, faults: FaultSpec[], expect: Scenario["expect"]): Scenario => ({
  name,
  seed: 7,
  mode: "real",
  guest: { ram: "16MiB", fill: "random", workload: { kind: "counter", dirtyRate: "8MiB/s" } },
  migration: {
    parameters: {
      downtimeLimitMs: 0,
      maxRounds: 2,
      onNoConvergence: "force",
      maxBandwidth: "64MiB/s",
      peerTimeoutMs: MATRIX_PEER_TIMEOUT_MS,
    },
  },
  faults,
  warmupMs: 50,
  settleMs: 50,
  expect,
});

function fault(action: FaultAction, at: FaultSpec["at"], stallMs = SHORT_STALL_MS): FaultSpec {
  const f: FaultSpec = { at, action };
  if (action === "partition" || action === "stop-source" || action === "stop-destination") {
    f.durationMs = stallMs;
  }
  if (action === "corrupt") f.bytes = 1;
  return f;
}

/** What a fault at a phase must come to (short stalls). */
export function expectedAt(action: FaultAction, phase: FaultPhase): Scenario["expect"] {
  if (phase === "resume") {
    // After the handover only a dead destination matters: the source guest resumes.
    return action === "kill-destination"
      ? { outcome: "failed", memoryEqual: true }
      : { outcome: "completed", memoryEqual: true };
  }
  switch (action) {
    case "partition":
    case "stop-source":
    case "stop-destination":
      return { outcome: "completed", memoryEqual: true };
    case "kill-source":
      return { outcome: "failed", guestLost: true };
    case "cancel":
      return { outcome: "cancelled", memoryEqual: true };
    default:
      return { outcome: "failed", memoryEqual: true };
  }
}

/** The whole matrix. */
export function faultMatrix(): MatrixRow[] {
  const rows: MatrixRow[] = [];
  for (const action of ACTIONS) {
    for (const phase of PHASES) {
      const at = phase === "round" ? { phase, round: 1 } : { phase };
      rows.push({
        scenario: base(`${action}-at-${phase}`, [fault(action, at)], expectedAt(action, phase)),
      });
    }
  }
  // Silent peers: a stall longer than the timeout fails cleanly, noticed in time.
  const silent: [FaultAction, FaultPhase][] = [
    ["partition", "setup"],
    ["partition", "bulk"],
    ["partition", "round"],
    ["partition", "stop-and-copy"],
    ["partition", "device-state"],
    ["stop-source", "bulk"],
    ["stop-source", "round"],
    ["stop-destination", "bulk"],
    ["stop-destination", "device-state"],
  ];
  for (const [action, phase] of silent) {
    const at = phase === "round" ? { phase, round: 1 } : { phase };
    rows.push({
      scenario: base(`${action}-long-at-${phase}`, [fault(action, at, LONG_STALL_MS)], {
        outcome: "failed",
        memoryEqual: true,
      }),
      silent: true,
    });
  }
  // Byte and time triggers.
  rows.push({
    scenario: base("cut-link-after-5MB", [fault("cut-link", { afterBytes: 5_000_000 })], {
      outcome: "failed",
      memoryEqual: true,
    }),
  });
  rows.push({
    scenario: base("cancel-after-150ms", [fault("cancel", { afterMs: 150 })], {
      outcome: "cancelled",
      memoryEqual: true,
    }),
  });
  rows.push({
    scenario: base("stop-destination-after-3MB", [
      fault("stop-destination", { afterBytes: 3_000_000 }),
    ], { outcome: "completed", memoryEqual: true }),
  });
  // Corrupted page data: the page's CRC-32 does not match, and an idle guest
  // never sends the page again, so the destination refuses the stream at its
  // end (stream v2); the source guest runs on, intact. (With stream v1, which
  // had no checksums, as QEMU's has none, this completed with a wrong page.)
  const corrupt = base("corrupt-page-data", [fault("corrupt", { afterBytes: 5_000_000 })], {
    outcome: "failed",
    memoryEqual: true,
  });
  corrupt.guest = { ram: "16MiB", fill: "random", workload: { kind: "idle" } };
  rows.push({ scenario: corrupt });
  // Retry: a fresh destination after a failure completes the migration.
  for (
    const [name, f] of [
      ["retry-after-cut-link", fault("cut-link", { phase: "round", round: 1 })],
      ["retry-after-kill-destination", fault("kill-destination", { phase: "bulk" })],
      ["retry-after-long-partition", fault("partition", { phase: "bulk" }, LONG_STALL_MS)],
    ] as const
  ) {
    const sc = base(name, [f], { outcome: "completed", memoryEqual: true });
    sc.retry = true;
    rows.push({ scenario: sc, attempts: 2 });
  }
  // No retry is possible when the guest died with the source.
  const lost = base("retry-after-kill-source", [fault("kill-source", { phase: "bulk" })], {
    outcome: "failed",
    guestLost: true,
  });
  lost.retry = true;
  rows.push({ scenario: lost, attempts: 1 });
  return rows;
}
