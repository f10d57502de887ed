/**
 * The simulated file transport's destination: the file sink on the far end
 * of the simulated link, whose bandwidth is the file device's
 * (`migration.transport.bandwidth`), writing a memory file; then the restore
 * step, which reads the file back into the fresh guest's RAM (its read time
 * modelled at the same bandwidth on the virtual clock) and resumes it. A
 * scenario that names a `path` gets the file written there when the run ends.
 *
 * @example
 * ```ts ignore
 * const dst = new SimFileDestination(world, ram);
 * dst.start(pair.b);
 * const loaded = await dst.switchover(null);
 * ```
 * @module
 */
import type { Link } from "../net/link.ts";
import { type MemoryFilePort, memoryFilePort } from "../net/file_port.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import { checkLayout, PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { checkCounterInvariant, type WorkloadState } from "../guest/workload.ts";
import { decodeDeviceState } from "../guest/device_state.ts";
import { SimVcpu } from "../sim/sim_vcpu.ts";
import type { SimClock } from "../sim/sim_clock.ts";
import { type FileSinkReport, runFileSink } from "../engine/file_sink.ts";
import { type FileRestoreReport, restoreFromFile } from "../engine/file_restore.ts";
import { emptyDestinationSummary } from "../control/protocol.ts";
import type { FileFigures } from "../contract/types.ts";
import type { ResolvedScenario } from "./validate.ts";
import type {
  DestinationFinal,
  DestinationLoaded,
  DestinationPeer,
  SourceAttempt,
} from "./world.ts";

/** What the file destination needs of the simulated world. */
export interface SimFileWorld {
  readonly clock: SimClock;
  readonly scenario: ResolvedScenario;
  readonly sourceAttempt: SourceAttempt | null;
}

/** The save's sink and the restore step, in simulation. */
export class SimFileDestination implements DestinationPeer {
  killed = false;
  /** The file (in memory; written to the scenario's path when the run ends). */
  readonly file: MemoryFilePort;
  #w: SimFileWorld;
  #ram: Ram;
  #sink: Promise<FileSinkReport> | null = null;
  #started: (sink: Promise<FileSinkReport>) => void = () => {};
  #engine: Promise<Promise<FileSinkReport>>;
  #restore: FileRestoreReport | null = null;
  #restoreMs: number | null = null;
  #state: WorkloadState | null = null;
  #saveStartMs = 0;
  #resumeAtMs: number | null = null;
  #vcpu: SimVcpu | null = null;
  #discarded = false;

  constructor(w: SimFileWorld, ram: Ram) {
    this.#w = w;
    this.#ram = ram;
    const t = w.scenario.transport;
    this.file = memoryFilePort({
      sizeLimitBytes: t.kind === "file" ? t.sizeLimitBytes ?? undefined : undefined,
    });
    this.#engine = new Promise((r) => (this.#started = r));
  }

  #layout() {
    return this.#w.scenario.migration.capabilities.mappedRam
      ? "mapped" as const
      : "stream" as const;
  }

  #bandwidth(): number {
    const t = this.#w.scenario.transport;
    return t.kind === "file" ? t.bandwidthBytesPerSec : 0;
  }

  /** The link is open: the sink starts writing the file from its end. */
  start(link: Link): void {
    this.#saveStartMs = this.#w.clock.nowMs();
    this.#sink = runFileSink({
      link,
      clock: this.#w.clock,
      file: this.file,
      layout: this.#layout(),
      maxRamBytes: this.#w.scenario.ramBytes,
    });
    this.#started(this.#sink);
  }

  async switchover(
    confirm: ((round: number) => Promise<boolean>) | null,
  ): Promise<DestinationLoaded | null> {
    const sink = await (await this.#engine);
    if (sink.outcome !== "completed" || this.killed) return null;
    const end = await this.#w.sourceAttempt?.end;
    const rounds = end?.report?.rounds ?? 0;
    const go = confirm ? await confirm(rounds) : end?.report?.outcome === "completed";
    if (!go || this.killed) {
      this.#discarded = true;
      return null;
    }
    // Restore into the fresh guest, the file read at the device's bandwidth.
    const clock = this.#w.clock;
    const r = await restoreFromFile({
      file: this.file,
      layout: this.#layout(),
      clock,
      maxRamBytes: this.#w.scenario.ramBytes,
      createRam: (setup) => checkLayout(this.#ram, setup.blocks),
      loadDevice: (bytes) => {
        this.#state = decodeDeviceState(bytes).workload;
      },
    });
    this.#restore = r;
    const readBytes = this.#layout() === "mapped" ? r.pages * PAGE_SIZE : sink.file?.sizeBytes ?? 0;
    const readMs = readBytes / this.#bandwidth() * 1000;
    await clock.sleep(readMs);
    if (r.outcome !== "completed" || this.#state === null || this.killed) return null;
    this.#restoreMs = (r.restoreMs ?? 0) + readMs;
    this.#resumeAtMs = clock.nowMs();
    const state = this.#state;
    const counter = state.config.kind === "counter" ? checkCounterInvariant(this.#ram) : null;
    this.#vcpu = new SimVcpu(this.#ram, new DirtyLog(this.#ram.totalPages), clock);
    this.#vcpu.run(state);
    return { image: { kind: "ram", ram: this.#ram }, counter, resumeAtMs: this.#resumeAtMs };
  }

  async quit(): Promise<DestinationFinal> {
    const sink = this.#sink ? await this.#sink : null;
    const guestRunning = !this.killed && (this.#vcpu?.running ?? false);
    const touches = this.#vcpu?.stop()?.touches ?? 0;
    const restore = this.#restore;
    const error = this.killed
      ? "The destination was killed"
      : sink?.outcome !== "completed"
      ? sink?.error ?? "No source connected"
      : restore && restore.outcome !== "completed"
      ? restore.error
      : undefined;
    const summary = emptyDestinationSummary(error);
    if (sink) {
      summary.outcome = error ? "failed" : "completed";
      if (!error) delete summary.error;
      summary.firstByteAtMs = this.#saveStartMs;
      summary.loadedAtMs = this.#resumeAtMs;
      // What the sink took of the stream (the file's own figures are in `file`).
      summary.receivedBytes = sink.receivedBytes;
      summary.endAtMs = sink.savedAtMs ?? this.#w.clock.nowMs();
    }
    summary.resumeAtMs = this.#resumeAtMs;
    summary.touchesAfterResume = this.#vcpu && this.#state ? touches - this.#state.touches : 0;
    if (this.#discarded) summary.discarded = true;
    return { summary, guestRunning, rssBytesMax: null, file: this.#figures(sink) };
  }

  #figures(sink: FileSinkReport | null): FileFigures | null {
    if (!sink?.file) return null;
    const saveMs = sink.savedAtMs === null ? null : sink.savedAtMs - this.#saveStartMs;
    return {
      sizeBytes: sink.file.sizeBytes,
      writtenBytes: sink.file.writtenBytes,
      pagesRewritten: sink.file.pagesRewritten,
      saveMs,
      restoreMs: this.#restoreMs,
      writeBytesPerSec: saveMs ? Math.round(sink.file.writtenBytes / (saveMs / 1000)) : null,
    };
  }

  kill(): void {
    this.killed = true;
    this.#vcpu?.stop();
  }
}
