/**
 * The source peer process: owns the running guest and the source engine.
 *
 * Run by the scenario runner with `--control HOST:PORT`, or by hand:
 *
 *     deno run -A peers/destination.ts --listen 127.0.0.1:4444
 *     deno run -A peers/source.ts --connect 127.0.0.1:4444 --ram 256MiB --workload hotset
 *
 * By hand it migrates at once and prints its report as JSON.
 * @module
 */
import { parseCli } from "../src/util/cli.ts";
import { systemClock } from "../src/util/clock.ts";
import { DirtyLog } from "../src/guest/dirty_log.ts";
import { checkCounterInvariant } from "../src/guest/workload.ts";
import { bootGuest, replayGuest } from "../src/guest/replay.ts";
import { createRam } from "../src/guest/ram.ts";
import { populateRam } from "../src/guest/populate.ts";
import { compareDigests } from "../src/scenario/checker.ts";
import { Vcpu } from "../src/guest/vcpu.ts";
import { digestRam } from "../src/guest/digest.ts";
import { encodeDeviceState } from "../src/guest/device_state.ts";
import { type Link, memoryLinkPair, tcpLink } from "../src/net/link.ts";
import { openFilePort } from "../src/net/file_port.ts";
import { type FileSinkReport, runFileSink } from "../src/engine/file_sink.ts";
import { clientHandshake, MIGRATION_ID_ENV, secretFromEnv } from "../src/net/handshake.ts";
import { VERSION } from "../src/stream/format.ts";
import { runSource, type SourceReport } from "../src/engine/source.ts";
import { resolveMigration } from "../src/engine/capabilities.ts";
import { parseHostPort, PeerControl, RssSampler } from "../src/control/peer_runtime.ts";
import { triggerLink } from "../src/faults/trigger_link.ts";
import { startHintSource } from "../src/guest/hint_wiring.ts";
import { limitSocketBuffer } from "../src/net/socket_buffer.ts";
import type { FilePeerConfig, PeerConfig } from "../src/control/protocol.ts";
import { resolveScenario } from "../src/scenario/validate.ts";
import { scenarioSeeds } from "../src/scenario/seeds.ts";
import { ferryCheckpointPieces } from "../src/stream/checkpoint_file.ts";
import { HashWorkers } from "../src/engine/hash_workers.ts";

/** Runs the source side; `control` is null when run by hand. */
async function main(args: string[]): Promise<number> {
  const { values } = parseCli(args, {
    control: { type: "string" },
    connect: { type: "string" },
    ram: { type: "string", default: "256MiB" },
    workload: { type: "string", default: "hotset" },
    "dirty-rate": { type: "string" },
    fill: { type: "string", default: "random" },
    seed: { type: "string", default: "1" },
  });
  const rss = new RssSampler();
  let control: PeerControl | null = null;
  let config: PeerConfig;
  if (values.control) {
    control = await PeerControl.connect(values.control, "source");
    config = (await control.wait("configure")).config;
  } else {
    if (!values.connect) {
      throw new TypeError("Give --control HOST:PORT (runner) or --connect HOST:PORT (by hand)");
    }
    const { resolved, errors } = resolveScenario({
      name: "by-hand",
      seed: Number(values.seed),
      guest: {
        ram: values.ram,
        fill: values.fill,
        workload: {
          kind: values.workload,
          ...(values["dirty-rate"] ? { dirtyRate: values["dirty-rate"] } : {}),
        },
      },
    } as never);
    if (!resolved) throw new TypeError(errors.join("; "));
    config = {
      migration: resolved.migration,
      guest: {
        blocks: [{ name: "pc.ram", bytes: resolved.ramBytes }],
        fill: resolved.fill,
        seeds: scenarioSeeds(resolved.seed).guest,
        workload: resolved.workload,
      },
    };
  }
  const g = config.guest!;
  // A fill that writes every page finds them backed by the kernel on another
  // thread first; a zero guest's pages stay unbacked until used, as a guest's do.
  const backed = createRam(g.blocks);
  if (g.fill !== "zero") await populateRam(backed);
  const { ram, workload } = bootGuest(g, backed);
  const log = new DirtyLog(ram.totalPages);
  const vcpu = await Vcpu.create(ram, log);
  await vcpu.run(workload.state());
  await control?.send({ type: "ready", rssBytes: rss.sample() });

  const migration = config.migration ?? resolveMigration({}).config;
  // The runner's secret comes over the control channel; by hand, from the environment.
  const envSecret = control ? null : secretFromEnv();
  const auth = config.auth ??
    (envSecret
      ? { secret: envSecret, migrationId: Deno.env.get(MIGRATION_ID_ENV) ?? "by-hand" }
      : null);
  const hold = new Set(config.holdAt ?? []);
  // Judge: digest the guest as it stands (stopped, after a completed
  // migration), or check that it is intact: paused briefly, compared with a
  // replay of its workload; a guest that stays here must be exactly what its
  // workload made of it.
  const judge = async (report: SourceReport, intactCheck: boolean) => {
    const wasRunning = vcpu.running;
    const stateNow = await vcpu.pause();
    const t = systemClock.nowMs();
    const pages = digestRam(ram);
    const counter = g.workload.kind === "counter" ? checkCounterInvariant(ram) : null;
    const intact = intactCheck
      ? compareDigests(digestRam(replayGuest(g, stateNow?.touches ?? 0)), pages, ram.blocks)
      : null;
    if (wasRunning) await vcpu.resume();
    rss.sample();
    // Pages the guest holds free at stop do not count (free-page hints).
    const free = report.outcome === "completed" ? stateNow?.free ?? null : null;
    return { pages, counter, intact, report, free, digestMs: systemClock.nowMs() - t };
  };
  // A checkpoint of the guest (hashDedup), asked for during the warm-up: the guest paused while it is written.
  if (control) {
    const c = control;
    c.wait("checkpoint").then(async (m) => {
      let bytes = 0;
      let error: string | undefined;
      const wasRunning = vcpu.running;
      if (wasRunning) await vcpu.pause();
      try {
        using f = await Deno.open(m.path, { write: true, create: true, truncate: true });
        for (const piece of ferryCheckpointPieces(ram.blocks.map((b) => b.bytes))) {
          for (let at = 0; at < piece.length;) at += await f.write(piece.subarray(at));
          bytes += piece.length;
        }
      } catch (e) {
        error = (e as Error).message;
      }
      if (wasRunning) await vcpu.resume();
      await c.send({ type: "checkpointed", bytes, ...(error ? { error } : {}) });
    }, () => {});
  }
  const quit = control
    ? Promise.race([control.wait("quit"), control.closed]).then(
      () => "quit" as const,
      () => "quit" as const,
    )
    : null;
  let next: Promise<{ hostname: string; port: number }> = control
    ? control.wait("start").then((m) => m.connect)
    : Promise.resolve(parseHostPort(values.connect!, "--connect"));
  // The balloon driver runs here with the guest, reading the vCPU's shared free view.
  const hints = startHintSource(migration, {
    view: vcpu.freeView,
    ram,
    behaviour: g.balloon ?? "honest",
    clock: systemClock,
    seed: g.seeds.balloon,
    staticFree: g.workload.staticFree ?? [],
  });
  // hashDedup: SHA-256 in workers over the shared guest RAM, one per core beside this loop.
  const hasher = migration.capabilities.hashDedup
    ? HashWorkers.start(ram, Math.max(1, navigator.hardwareConcurrency - 1))
    : null;
  let report: SourceReport;
  for (;;) {
    const target = await next;
    let link: Link;
    // A file transport: the stream goes to the file sink, which writes the file here.
    let sink: Promise<FileSinkReport> | null = null;
    if (config.file) {
      const saving = await saveToFile(config.file, migration.peerTimeoutMs);
      link = saving.link;
      sink = saving.sink;
    } else {
      try {
        const conn = await Deno.connect(target);
        conn.setNoDelay(true);
        if (config.sendBufferBytes) {
          const why = limitSocketBuffer(
            { port: (conn.localAddr as Deno.NetAddr).port, peerPort: target.port },
            "send",
            config.sendBufferBytes,
          );
          if (why) console.error(`source: send buffer left to the kernel: ${why}`);
        }
        link = tcpLink(conn, { idleTimeoutMs: migration.peerTimeoutMs });
        if (auth) {
          // Mutual authentication before a single stream byte (src/net/handshake.ts).
          const r = await clientHandshake(link, { ...auth, streamVersion: VERSION }, {
            timeoutMs: migration.peerTimeoutMs,
          });
          if (!r.ok) {
            link.close();
            throw new Error(`the handshake failed: ${r.reason}`);
          }
        }
      } catch (e) {
        link = deadLink(
          `Cannot connect to the destination at ${target.hostname}:${target.port}: ${
            (e as Error).message
          }`,
        );
      }
    }
    if (control && config.holdAtBytes?.length) {
      link = triggerLink(link, config.holdAtBytes, async (bytes) => {
        await control!.send({ type: "bytes", bytes, atMs: systemClock.nowMs() });
        await control!.wait("continue");
      });
    }
    report = await runSource({
      guest: {
        ram,
        syncDirtyLog: (into) => log.syncInto(into),
        stop: async () => encodeDeviceState({ workload: (await vcpu.pause())! }),
        cont: () => vcpu.resume(),
      },
      link,
      clock: systemClock,
      config: migration,
      hints: hints?.source,
      hasher,
      signal: control?.cancel.signal,
      hooks: {
        progress: (record) => void control?.send({ type: "progress", record }),
        phase: async (phase, round, bytes) => {
          await control?.send({ type: "phase", phase, round, bytes, atMs: systemClock.nowMs() });
          if (control && hold.has(phase)) await control.wait("continue");
        },
      },
    });
    const fileSink = sink ? await sink : undefined;
    const completed = report.outcome === "completed";
    await control?.send({
      type: "outcome",
      outcome: report.outcome,
      error: report.error,
      atMs: systemClock.nowMs(),
    });
    const j = await judge(report, !completed);
    if (!control) {
      await vcpu.stop();
      const { pages: _p, report: _r, free: _f, ...rest } = j;
      hasher?.close();
      console.log(JSON.stringify({ ...report, ...rest, rssBytesMax: rss.stop() }, null, 2));
      return completed ? 0 : 1;
    }
    const digest = (d: typeof j) =>
      control!.send({
        type: "digest",
        pages: d.pages,
        blocks: ram.blocks.map((b) => ({ name: b.name, pages: b.pages })),
        counter: d.counter,
        intact: d.intact,
        report: d.report,
        ...(fileSink ? { fileSink } : {}),
        free: d.free,
        lied: hints?.driver?.liedBytes() ?? null,
        atMs: systemClock.nowMs(),
      });
    await digest(j);
    // After a failure the runner may start again with a fresh destination;
    // after a completion whose destination never resumed, it resumes the guest here.
    const cont = completed ? control.wait("cont").then(() => "cont" as const) : null;
    const again = completed ? null : control.wait("start");
    const what = await Promise.race(
      [quit!, cont, again?.then(() => "start" as const)].filter((p) =>
        p !== undefined && p !== null
      ),
    ).catch(() => "quit" as const);
    if (what === "start") {
      next = again!.then((m) => m.connect);
      continue;
    }
    if (what === "cont") {
      await vcpu.resume();
      await digest(await judge(report, true));
      await quit;
    }
    break;
  }
  const guestRunning = vcpu.running;
  await vcpu.stop();
  hasher?.close();
  await control.send({ type: "result", source: report, rssBytesMax: rss.stop(), guestRunning });
  control.channel.close();
  return 0;
}

/** The file sink on the far end of an in-process link, writing `file.path`. */
async function saveToFile(
  file: FilePeerConfig,
  idleTimeoutMs: number,
): Promise<{ link: Link; sink: Promise<FileSinkReport> }> {
  const [near, far] = memoryLinkPair({ idleTimeoutMs });
  let port;
  try {
    port = await openFilePort(file.path, { sizeLimitBytes: file.sizeLimitBytes ?? undefined });
  } catch (e) {
    const message = `Cannot open the file ${file.path}: ${(e as Error).message}`;
    return {
      link: deadLink(message),
      sink: Promise.resolve({
        outcome: "failed",
        error: message,
        savedAtMs: null,
        file: null,
        receivedBytes: 0,
      }),
    };
  }
  const sink = runFileSink({ link: far, clock: systemClock, file: port, layout: file.layout })
    .finally(() => port.close());
  return { link: near, sink };
}

function deadLink(message: string): Link {
  const fail = () => Promise.reject(new Error(message));
  return { write: fail, read: fail, close() {} };
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`source: ${(e as Error).stack ?? e}`);
    Deno.exit(3);
  }
}
