/**
 * The vCPU worker's entry point (see vcpu.ts for the protocol). It runs the
 * workload at its target rate on the system clock: this is the guest, not the
 * engine, so it may read the clock.
 * @module
 */
import { blockOfPage, createRam, PAGE_SIZE } from "./ram.ts";
import { DirtyLog } from "./dirty_log.ts";
import { Workload } from "./workload.ts";
import { FreeView } from "./free_view.ts";
import {
  CMD,
  CMD_EXIT,
  CMD_PAUSE,
  LOAD,
  ST_EXITED,
  ST_PAUSED,
  ST_RUNNING,
  STATE_LEN,
  STATUS,
  type VcpuInit,
} from "./vcpu.ts";

/** Longest stretch of due touches made in one batch (ms of workload). */
const BATCH_MS = 1;
/** Backlog beyond which missed touches are dropped rather than caught up (ms). */
const BACKLOG_MS = 20;

// deno-lint-ignore no-explicit-any
(self as any).onmessage = (e: MessageEvent<VcpuInit>) => {
  const init = e.data;
  const ram = createRam(init.blocks, init.ramSabs);
  const log = new DirtyLog(ram.totalPages, init.logSab);
  const ctrl = new Int32Array(init.ctrlSab);
  const stateBytes = new Uint8Array(init.stateSab);
  const freeView = new FreeView(ram.totalPages, init.freeSab);
  const enc = new TextEncoder();
  let workload: Workload | null = null;
  let perMs = 0;

  const publish = () => {
    if (!workload) return;
    const bytes = enc.encode(JSON.stringify(workload.state({ free: false })));
    stateBytes.set(bytes);
    Atomics.store(ctrl, STATE_LEN, bytes.length);
  };
  const setStatus = (s: number) => {
    Atomics.store(ctrl, STATUS, s);
    Atomics.notify(ctrl, STATUS);
  };

  let base = 0;
  let done = 0;
  let paused = true;
  setStatus(ST_PAUSED);
  for (;;) {
    const cmd = Atomics.load(ctrl, CMD);
    if (cmd === CMD_EXIT) break;
    // A guest that ignores pauses does so once it runs its workload (it booted paused).
    if (cmd === CMD_PAUSE && !(init.misbehave === "ignore-pause" && workload)) {
      if (!paused) {
        publish();
        paused = true;
        setStatus(ST_PAUSED);
      }
      Atomics.wait(ctrl, CMD, CMD_PAUSE, 1000);
      continue;
    }
    if (paused) {
      if (Atomics.load(ctrl, LOAD) === 1) {
        const len = Atomics.load(ctrl, STATE_LEN);
        workload = Workload.resume(
          JSON.parse(new TextDecoder().decode(stateBytes.slice(0, len))),
          { freeView },
        );
        perMs = workload.config.touchesPerSec / 1000;
        Atomics.store(ctrl, LOAD, 0);
      }
      paused = false;
      base = performance.now();
      done = 0;
      setStatus(ST_RUNNING);
    }
    if (!workload || perMs <= 0) {
      Atomics.wait(ctrl, CMD, cmd, 50);
      continue;
    }
    const now = performance.now();
    let due = Math.floor((now - base) * perMs) - done;
    if (due > BACKLOG_MS * perMs) {
      // A starved vCPU drops its backlog rather than bursting.
      base = now;
      done = 0;
      due = 0;
    }
    if (due <= 0) {
      Atomics.wait(ctrl, CMD, cmd, Math.max(0.05, Math.min(1, 1 / perMs)));
      continue;
    }
    const n = Math.min(due, Math.max(1, Math.ceil(BATCH_MS * perMs)));
    if (init.misbehave === "touch-past-ram") touchPastRam(ram, log);
    workload.touch(ram, log, n);
    done += n;
  }
  publish();
  setStatus(ST_EXITED);
  self.close();
};

/**
 * A hostile guest's touch of the page after its last one, done as a workload
 * touches a page: the write (which the typed array drops) and its dirty bit
 * (which the dirty log's bounds refuse, failing the worker).
 */
function touchPastRam(ram: ReturnType<typeof createRam>, log: DirtyLog): void {
  const past = ram.totalPages;
  const block = blockOfPage(ram, past);
  block.bytes[(past - block.firstPage) * PAGE_SIZE] ^= 1;
  log.mark(past);
}
