/**
 * Wires a migration's hint source to the guest: the balloon device and its
 * driver over the guest's free view, or the static map from the scenario.
 * Real peers and the simulator call this the same way, with their own clock.
 *
 * @example
 * ```ts ignore
 * const hints = startHintSource(migration, { view: vcpu.freeView, ram, behaviour: "honest",
 *   clock: systemClock, seed: 42, staticFree: [] });
 * await runSource({ ..., hints: hints?.source });
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { Prng } from "../util/prng.ts";
import type { HintSource } from "../contract/ports.ts";
import type { BalloonBehaviour } from "../contract/types.ts";
import { StaticHintSource } from "./static_hints.ts";
import { BalloonDevice, BalloonDriver } from "./balloon.ts";
import type { FreeView, PageRange } from "./free_view.ts";
import { PAGE_SIZE, type Ram } from "./ram.ts";

/** A started hint source, and the balloon driver behind it (null for the static map). */
export interface HintWiring {
  source: HintSource;
  driver: BalloonDriver | null;
}

/** What the hint source needs of the migration's configuration. */
export interface HintConfig {
  capabilities: { freePageHints?: boolean };
  /** "balloon" or "static". */
  hintSource: string;
  /** How long the engine waits for an answer; a slow balloon answers after twice this. */
  hintTimeoutMs: number;
}

/** Starts the hint source the configuration asks for; null when `freePageHints` is off. */
export function startHintSource(
  config: HintConfig,
  options: {
    view: FreeView;
    ram: Ram;
    behaviour: BalloonBehaviour;
    clock: Clock;
    seed: number;
    staticFree: readonly PageRange[];
  },
): HintWiring | null {
  if (!config.capabilities.freePageHints) return null;
  if (config.hintSource === "static") {
    return {
      source: new StaticHintSource(
        options.staticFree.map(([start, n]) => [start * PAGE_SIZE, n * PAGE_SIZE]),
      ),
      driver: null,
    };
  }
  const device = new BalloonDevice();
  const driver = new BalloonDriver(device, {
    view: options.view,
    blocks: options.ram.blocks,
    behaviour: options.behaviour,
    clock: options.clock,
    prng: new Prng(options.seed),
    slowDelayMs: 2 * config.hintTimeoutMs,
  });
  return { source: device, driver };
}
