/**
 * The destination peer process: listens for the migration stream, loads it
 * with the destination engine, and resumes the guest's workload from the
 * device state, which then keeps running here.
 *
 * Run by the scenario runner with `--control HOST:PORT`, or by hand with
 * `--listen HOST:PORT` (default 127.0.0.1:4444); by hand it prints its report
 * as JSON after the guest has run for `--settle-ms`.
 * @module
 */
import { parseCli } from "../src/util/cli.ts";
import { systemClock } from "../src/util/clock.ts";
import {
  checkLayout,
  createRam,
  PAGE_SIZE,
  preallocateRamInBackground,
  type Ram,
} from "../src/guest/ram.ts";
import { DirtyLog } from "../src/guest/dirty_log.ts";
import { checkCounterInvariant, type WorkloadState } from "../src/guest/workload.ts";
import { Vcpu } from "../src/guest/vcpu.ts";
import { digestRam } from "../src/guest/digest.ts";
import { decodeDeviceState } from "../src/guest/device_state.ts";
import { FreeView } from "../src/guest/free_view.ts";
import { tcpLink } from "../src/net/link.ts";
import { MIGRATION_ID_ENV, SECRET_ENV, secretFromEnv } from "../src/net/handshake.ts";
import { AuthListener } from "../src/net/auth_listener.ts";
import { VERSION } from "../src/stream/format.ts";
import { streamBytesBound } from "../src/stream/limits.ts";
import {
  type DestinationOptions,
  type DestinationReport,
  runDestination,
} from "../src/engine/destination.ts";
import { restoreFromFile } from "../src/engine/file_restore.ts";
import { openFilePort } from "../src/net/file_port.ts";
import type { StreamSetup } from "../src/stream/reader.ts";
import type { KindCounters } from "../src/contract/types.ts";
import { resolveMigration } from "../src/engine/capabilities.ts";
import { loadCheckpoint } from "../src/engine/checkpoint_index.ts";
import { fileAccess } from "../src/stream/checkpoint_file.ts";
import { parseHostPort, PeerControl, RssSampler } from "../src/control/peer_runtime.ts";
import {
  type DestinationSummary,
  emptyDestinationSummary,
  type FilePeerConfig,
  type PeerConfig,
} from "../src/control/protocol.ts";

async function main(args: string[]): Promise<number> {
  const { values } = parseCli(args, {
    control: { type: "string" },
    listen: { type: "string" },
    "settle-ms": { type: "string", default: "200" },
  });
  const rss = new RssSampler();
  let control: PeerControl | null = null;
  let config: PeerConfig;
  if (values.control) {
    control = await PeerControl.connect(values.control, "destination");
    config = (await control.wait("configure")).config;
  } else {
    config = { migration: resolveMigration({}).config };
  }
  let vcpuReady: Promise<Vcpu> | null = null;
  let state: WorkloadState | null = null;
  let loadedRam: Ram | null = null;
  const prepare = (ram: Ram) => {
    loadedRam = ram;
    vcpuReady = Vcpu.create(ram, new DirtyLog(ram.totalPages)); // paused: resuming later costs no thread start
    vcpuReady.catch(() => {});
    return ram;
  };
  const preallocated = config.ram ? prepare(await preallocateRamInBackground(config.ram)) : null;
  // hashDedup: the checkpoint is indexed before the destination is ready, as QEMU's -checkpoint at start.
  const ck = config.checkpoint;
  const checkpoint = ck && config.migration.capabilities.hashDedup
    ? loadCheckpoint(() => fileAccess(ck.path), ck.format, systemClock)
    : undefined;
  const hold = new Set(config.holdAt ?? []);
  // One wait for quit, shared by every place that may see it.
  const quit: Promise<unknown> = control
    ? Promise.race([control.wait("quit"), control.closed]).catch(() => {})
    : new Promise(() => {});
  const loadDevice = (bytes: Uint8Array) => {
    const s = decodeDeviceState(bytes).workload;
    // The guest's free view must fit the RAM that was loaded.
    const pages = (loadedRam as Ram | null)?.totalPages ?? 0;
    if (s.free && s.free.length !== FreeView.byteLength(pages)) {
      throw new RangeError(
        `Device state carries a free view of ${s.free.length} bytes for a guest of ${pages} pages`,
      );
    }
    state = s;
  };
  const createGuestRam = (setup: StreamSetup) => {
    if (preallocated) return checkLayout(preallocated, setup.blocks);
    return prepare(
      createRam(setup.blocks.map((b) => ({ name: b.name, bytes: b.pages * PAGE_SIZE }))),
    );
  };
  let report: DestinationReport;
  let restoreMs: number | null | undefined;
  if (config.file) {
    // A file transport: restore the guest from the file once the runner says so.
    const file = config.file;
    if (control) await control.send({ type: "ready", rssBytes: rss.sample() });
    const go = control
      ? await Promise.race([control.wait("restore").then(() => true), quit.then(() => false)])
        .catch(() => false)
      : true;
    if (!go) {
      await control?.send({
        type: "result",
        destination: emptyDestinationSummary("Not restored: the save did not complete"),
        rssBytesMax: rss.stop(),
      });
      control?.channel.close();
      return 0;
    }
    report = await restoreStep(file, {
      createRam: createGuestRam,
      loadDevice,
      maxRamBytes: config.maxRamBytes,
    });
    restoreMs = report.outcome === "completed" ? report.loadedAtMs! - report.firstByteAtMs! : null;
  } else {
    const listen = config.listen ?? parseHostPort(values.listen ?? "127.0.0.1:4444", "--listen");
    // The runner's secret comes over the control channel; by hand, from the environment.
    const envSecret = control ? null : secretFromEnv();
    const auth = config.auth ??
      (envSecret
        ? { secret: envSecret, migrationId: Deno.env.get(MIGRATION_ID_ENV) ?? "by-hand" }
        : null);
    if (!auth && !isLoopback(listen.hostname)) {
      throw new TypeError(
        `Listening on ${listen.hostname} (not loopback) needs a secret: set ${SECRET_ENV} on both peers`,
      );
    }
    if (!auth) {
      console.error("destination: no secret given: accepting the first connection unauthenticated");
    }
    const listener = Deno.listen({ hostname: listen.hostname, port: listen.port });
    const port = (listener.addr as Deno.NetAddr).port;
    const door = auth
      ? new AuthListener(listener, { ...auth, streamVersion: VERSION }, {
        timeoutMs: config.migration.peerTimeoutMs,
        log: (line) => console.error(`destination: ${line}`),
      })
      : null;
    if (control) await control.send({ type: "ready", port, rssBytes: rss.sample() });
    else console.error(`destination: listening on ${listen.hostname}:${port}`);

    let endMigration = () => {};
    const migrationDone = new Promise<void>((r) => (endMigration = r));
    const accepted = await Promise.race([
      door ? door.accept() : listener.accept(),
      quit.then(() => null),
    ]);
    // No second connection: the door refuses and logs any until it closes, with the migration.
    if (door) void Promise.race([quit, migrationDone]).then(() => door.close());
    else listener.close();
    if (!accepted) {
      await door?.close();
      await control?.send({
        type: "result",
        destination: emptyDestinationSummary("No source connected"),
        rssBytesMax: rss.stop(),
      });
      control?.channel.close();
      return 0;
    }
    accepted.setNoDelay(true);
    const link = tcpLink(accepted, { idleTimeoutMs: config.migration.peerTimeoutMs });

    report = await runDestination({
      link,
      clock: systemClock,
      maxRamBytes: config.maxRamBytes,
      // A source that never ends is refused past what a migration of this guest can send.
      maxStreamBytes: config.maxRamBytes
        ? streamBytesBound(config.maxRamBytes, config.migration.maxRounds)
        : undefined,
      checkpoint,
      createRam: createGuestRam,
      loadDevice,
      hooks: {
        phase: async (phase, round) => {
          await control?.send({ type: "phase", phase, round, atMs: systemClock.nowMs() });
          if (control && hold.has(phase)) await control.wait("continue");
        },
      },
    });
    endMigration();
  }

  const summary: DestinationSummary = emptyDestinationSummary(report.error);
  summary.endAtMs = systemClock.nowMs();
  summary.outcome = report.outcome;
  summary.firstByteAtMs = report.firstByteAtMs;
  summary.loadedAtMs = report.loadedAtMs;
  summary.receivedBytes = report.receivedBytes;
  summary.rounds = report.rounds;
  summary.decompressMs = report.decompressMs;
  if (restoreMs !== undefined) summary.restoreMs = restoreMs;
  if (report.hash) summary.hash = report.hash;
  checkpoint?.index?.close();
  let vcpu: Vcpu | null = null;
  let pages: Uint8Array = new Uint8Array(0);
  const ram: Ram | null = report.ram;
  if (report.outcome === "completed" && ram && state) {
    // Judge before the vCPU runs; the digest's time is the lab's, not the guest's downtime.
    const t = systemClock.nowMs();
    pages = digestRam(ram);
    summary.counter = (state as WorkloadState).config.kind === "counter"
      ? checkCounterInvariant(ram)
      : null;
    summary.digestMs = systemClock.nowMs() - t;
    vcpu = await vcpuReady!;
    await control?.send({
      type: "phase",
      phase: "resume",
      round: report.rounds,
      atMs: systemClock.nowMs(),
    });
    // Held here, the runner confirms the switchover (continue) or discards the guest (quit).
    const go = !control || !hold.has("resume") ||
      await Promise.race([
        control.wait("continue").then(() => true, () => false),
        quit.then(() => false),
      ]);
    if (!go) {
      summary.discarded = true;
      vcpu = null;
    }
  }
  if (vcpu && state && ram) {
    await vcpu.run(state);
    summary.resumeAtMs = systemClock.nowMs();
    await control?.send({
      type: "digest",
      pages,
      blocks: ram.blocks.map((b) => ({ name: b.name, pages: b.pages })),
      counter: summary.counter,
      resumeAtMs: summary.resumeAtMs,
      digestMs: summary.digestMs,
      atMs: systemClock.nowMs(),
    });
  }
  if (control) {
    if (report.outcome !== "completed") {
      await control.send({ type: "error", message: report.error ?? report.outcome });
    }
    await quit;
  } else {
    await new Promise((r) => setTimeout(r, Number(values["settle-ms"])));
  }
  const guestRunning = vcpu?.running ?? false;
  if (vcpu && state) {
    summary.touchesAfterResume = ((await vcpu.stop())?.touches ?? 0) -
      (state as WorkloadState).touches;
  } else if (vcpuReady) await (await (vcpuReady as Promise<Vcpu>).catch(() => null))?.stop();
  if (!control) {
    console.log(JSON.stringify({ ...summary, rssBytesMax: rss.stop() }, null, 2));
    return report.outcome === "completed" ? 0 : 1;
  }
  await control.send({
    type: "result",
    destination: summary,
    rssBytesMax: rss.stop(),
    guestRunning,
  });
  control.channel.close();
  return 0;
}

/** Restores the guest from a file, as a destination report (file_restore.ts). */
async function restoreStep(
  file: FilePeerConfig,
  o: Pick<DestinationOptions, "createRam" | "loadDevice" | "maxRamBytes">,
): Promise<DestinationReport> {
  const t = systemClock.nowMs();
  let port;
  try {
    port = await openFilePort(file.path, { write: false });
  } catch (e) {
    port = null;
    const error = `Cannot open the file ${file.path}: ${(e as Error).message}`;
    const empty = emptyDestinationSummary(error);
    return { ...empty, outcome: "failed", ram: null, pages: zeroKinds(), bytes: zeroKinds() };
  }
  try {
    const r = await restoreFromFile({ file: port, layout: file.layout, clock: systemClock, ...o });
    const kinds = zeroKinds();
    kinds.total = r.pages;
    return {
      outcome: r.outcome,
      ...(r.error ? { error: r.error } : {}),
      ram: r.ram,
      firstByteAtMs: t,
      loadedAtMs: r.outcome === "completed" ? systemClock.nowMs() : null,
      rounds: 0,
      receivedBytes: await port.size(),
      pages: kinds,
      bytes: zeroKinds(),
    };
  } finally {
    port.close();
  }
}

function zeroKinds(): KindCounters {
  return { total: 0, normal: 0, zero: 0 };
}

/** True for an address only this host can reach. */
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`destination: ${(e as Error).stack ?? e}`);
    Deno.exit(3);
  }
}
