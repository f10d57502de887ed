/**
 * Ferry: a live-migration lab for Deno.
 *
 * ```ts ignore
 * import { runScenario } from "./mod.ts";
 * const result = await runScenario({
 *   name: "hotset",
 *   guest: { ram: "256MiB", workload: { kind: "hotset", dirtyRate: "64MiB/s" } },
 *   expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300 },
 * });
 * console.log(result.passed, result.downtimeMs);
 * ```
 * @module
 */
export { KernelShapingUnavailable, runScenario } from "./src/scenario/runner.ts";
export { FaultSchedule } from "./src/faults/schedule.ts";
export type { Firing } from "./src/faults/schedule.ts";
export { injectFault } from "./src/faults/inject.ts";
export type { FaultTargets, PeerRole } from "./src/faults/inject.ts";
export type { RunOptions } from "./src/scenario/runner.ts";
export { COST_KINDS, resolveScenario } from "./src/scenario/validate.ts";
export type { CostKind, ResolvedNetwork, ResolvedScenario } from "./src/scenario/validate.ts";
export type { FillKind } from "./src/guest/fill.ts";
export type { PageRange } from "./src/guest/free_view.ts";
export type { WorkloadConfig } from "./src/guest/workload.ts";
export { loadScenario } from "./src/scenario/load.ts";
export { formatSummary } from "./src/scenario/summary.ts";
export type {
  AttemptRecord,
  BalloonBehaviour,
  CompressionStatsRecord,
  ExpectationResult,
  Expectations,
  FaultAction,
  FaultPhase,
  FaultRecord,
  FaultSpec,
  FaultTrigger,
  GuestSpec,
  HintRejections,
  HintStats,
  KindCounters,
  MigrationSpec,
  NetworkSpec,
  Outcome,
  ProgressRecord,
  Result,
  Scenario,
  SizeText,
  WorkloadKind,
  WorkloadSpec,
  XbzrleStatsRecord,
} from "./src/contract/types.ts";
export type { Clock } from "./src/contract/ports.ts";
export { BASE_PARAMETERS, CAPABILITIES, resolveMigration } from "./src/engine/capabilities.ts";
export type {
  AnyParameter,
  CapabilityDecl,
  CapabilityName,
  MigrationConfig,
  MigrationParameters,
  ParameterDecl,
  ResolvedMigration,
  ResolveMigrationOptions,
} from "./src/engine/capabilities.ts";
export { loadGroup, resolveGroup } from "./src/report/group.ts";
export type { Group, GroupCase } from "./src/report/group.ts";
export { runGroup } from "./src/report/compare.ts";
export type { CompareOptions, Job } from "./src/report/compare.ts";
export type { CaseReport, Comparison, ComparisonMeta, RunRecord } from "./src/report/comparison.ts";
export { ResultsStore } from "./src/report/store.ts";
export type { BatchInfo, RunFilter, RunMeta, StoredRun } from "./src/report/store.ts";
export { renderMarkdown } from "./src/report/markdown.ts";
export { renderHtml } from "./src/report/html.ts";
export { loadSuite, runSuite } from "./src/report/suite.ts";
export type {
  Check,
  CheckCounts,
  JudgeOptions,
  Suite,
  SuiteEntry,
  SuiteReport,
  Verdict,
} from "./src/report/suite.ts";
export type { Baseline, BaselineCase } from "./src/report/baseline.ts";
export { METRICS } from "./src/report/metrics.ts";
export { runSimulation } from "./src/scenario/runner.ts";
export type { HarnessOptions } from "./src/scenario/harness.ts";
export type { MetricDecl, MetricUnit, Move, Summary, Threshold } from "./src/report/metrics.ts";
export type { CommitInfo, MachineDescription } from "./src/report/machine.ts";
export { SimClock } from "./src/sim/sim_clock.ts";
export { checkInvariants, drawScenario, swarmSeed } from "./src/swarm/swarm.ts";
export type { DrawOptions, Violation } from "./src/swarm/swarm.ts";
export type {
  CheckpointSpec,
  DestinationSpec,
  FileFigures,
  HashStatsRecord,
  HostsSpec,
  SimSpec,
  TransportSpec,
} from "./src/contract/types.ts";
export type { ResolvedTransport } from "./src/scenario/transport.ts";
export type { HostPlacement } from "./src/util/host_spec.ts";
export type { Shard } from "./src/util/shard.ts";
export type { RawRun, Row, ShardRecord } from "./src/report/store.ts";
