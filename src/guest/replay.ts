/**
 * Replays a guest from its seed: the initial fill, the workload's boot and
 * its first `touches` touches. Workloads are deterministic in their touch
 * count, so the replay is exactly what the guest's memory must hold after
 * that many touches, whatever the timing. The checker uses it to prove that a
 * failed or cancelled migration left the source guest intact: no page changed
 * except by the workload.
 *
 * @example
 * ```ts
 * import { replayGuest } from "./replay.ts";
 * const ram = replayGuest({
 *   blocks: [{ name: "pc.ram", bytes: 1 << 20 }],
 *   fill: "random",
 *   seeds: { fill: 3, workload: 4, balloon: 5 },
 *   workload: { kind: "random", touchesPerSec: 100, writeBytes: 8 },
 * }, 50);
 * console.log(ram.totalPages); // 256
 * ```
 * @module
 */
import { createRam, type Ram } from "./ram.ts";
import { fillRam } from "./fill.ts";
import { Workload } from "./workload.ts";
import { DirtyLog } from "./dirty_log.ts";
import type { FillKind } from "./fill.ts";
import type { WorkloadConfig } from "./workload.ts";
import type { BalloonBehaviour } from "../contract/types.ts";
import type { BlockSpec } from "./ram.ts";

/** The guest's own random streams, each forked from the scenario seed by name. */
export interface GuestSeeds {
  /** The initial content. */
  fill: number;
  /** The workload's touches. */
  workload: number;
  /** The balloon driver's choices. */
  balloon: number;
}

/** The source guest, as the runner configures it. */
export interface GuestConfig {
  blocks: BlockSpec[];
  fill: FillKind;
  seeds: GuestSeeds;
  workload: WorkloadConfig;
  /** How the guest's balloon driver answers free-page hint requests (default honest). */
  balloon?: BalloonBehaviour;
}

/**
 * A fresh guest: filled, booted, with its workload at touch 0. `ram`, when
 * given, is a zeroed RAM of the configured layout to boot in (one whose pages
 * are already backed boots faster).
 */
export function bootGuest(
  config: GuestConfig,
  ram: Ram = createRam(config.blocks),
): { ram: Ram; workload: Workload } {
  fillRam(ram, { fill: config.fill, seed: config.seeds.fill });
  const workload = Workload.fresh(config.workload, config.seeds.workload);
  workload.boot(ram);
  return { ram, workload };
}

/** The guest's memory after `touches` touches from boot. */
export function replayGuest(config: GuestConfig, touches: number): Ram {
  const { ram, workload } = bootGuest(config);
  const log = new DirtyLog(ram.totalPages);
  for (let done = 0; done < touches;) {
    const n = Math.min(65536, touches - done);
    workload.touch(ram, log, n);
    done += n;
  }
  return ram;
}
