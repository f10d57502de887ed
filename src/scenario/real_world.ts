/**
 * The real world: the source and destination peers are separate processes
 * (`peers/source.ts`, `peers/destination.ts`) that the world spawns and
 * drives over control connections, with the migration stream on a real
 * socket between them.
 *
 * Clocks: each peer's clock offset is estimated from ping/pong round trips
 * (the sample with the smallest round trip wins) and taken out of every time
 * a peer reports, so that the harness sees one clock, the runner's. The
 * destination's page digest, taken before its vCPU runs, is the lab's
 * instrument, not part of the guest's downtime: its duration is taken out of
 * the resume time and reported as `wall.checkerDigestMs`.
 *
 * Network and faults: a shaped network, or a link fault, puts the shaping
 * proxy (`src/net/shaper.ts`) between the peers; `network.kernel` puts the
 * peers in network namespaces joined by a `tc`-shaped veth pair instead
 * (`src/net/netns.ts`). A source held at a phase or a byte offset (where a
 * fault waits) goes on once the harness has fired it. Kill and stop faults
 * are signals to the peer processes; cancel goes over the control channel.
 *
 * @example
 * ```ts ignore
 * import { RealWorld } from "./real_world.ts";
 * import { runHarness } from "./harness.ts";
 * const world = await RealWorld.create(resolved, { log: console.error });
 * const result = await runHarness(resolved, world, {});
 * ```
 * @module
 */
import { systemClock } from "../util/clock.ts";
import { ControlChannel } from "../control/channel.ts";
import { Inbox } from "../control/inbox.ts";
import {
  type ControlMessage,
  type DestinationSummary,
  emptyDestinationSummary,
  type FilePeerConfig,
  type PeerConfig,
} from "../control/protocol.ts";
import type { FileSinkReport } from "../engine/file_sink.ts";
import type { FileFigures } from "../contract/types.ts";
import type { SourceReport } from "../engine/source.ts";
import type { FaultTargets, PeerRole } from "../faults/inject.ts";
import {
  ADDRESSES,
  KernelLink,
  kernelShapingUnavailable,
  removeStaleNamespaces,
} from "../net/netns.ts";
import { ShapingProxy } from "../net/shaper.ts";
import { pathExists } from "../util/output_path.ts";
import { clientPreambleBytes, newMigrationId, newSecret } from "../net/handshake.ts";
import { type ScenarioSeeds, scenarioSeeds } from "./seeds.ts";
import {
  type HostLinkControl,
  type LaunchedPeer,
  launcherFor,
  type PeerLauncher,
} from "./peer_launcher.ts";
import type { ResolvedScenario } from "./validate.ts";
import type {
  AttemptLink,
  DestinationFinal,
  DestinationLoaded,
  DestinationPeer,
  PeerEvents,
  SourceAttempt,
  SourceEnd,
  SourceFinal,
  SourceJudgement,
  SourcePeer,
  World,
  WorldBoot,
  WorldCleanup,
} from "./world.ts";

/** Where the peers' entry points live, relative to the checkout. */
const PEERS = { source: "peers/source.ts", destination: "peers/destination.ts" };

/** Milliseconds a peer may take to start and say hello. */
const HELLO_TIMEOUT_MS = 30_000;
/** Milliseconds the source may take to boot its guest. */
const BOOT_TIMEOUT_MS = 120_000;

/** Fault actions that act on the link. */
const LINK_ACTIONS = new Set(["cut-link", "partition", "corrupt"]);

/**
 * Thrown when a scenario asks for kernel shaping this machine cannot do; the CLI reports it as skipped.
 *
 * @example
 * ```ts
 * import { KernelShapingUnavailable } from "./real_world.ts";
 * const e = new KernelShapingUnavailable("Scenario x skipped: kernel shaping needs root");
 * console.log(e instanceof Error, e.name); // true "NotSupported"
 * ```
 */
export class KernelShapingUnavailable extends Error {
  /** Always "NotSupported", the name Deno gives errors for what a platform cannot do. */
  override name = "NotSupported";
}

type DigestMessage = Extract<ControlMessage, { type: "digest" }>;
type ResultMessage = Extract<ControlMessage, { type: "result" }>;

/** A spawned peer process and its control inbox. */
class Process {
  inbox: Inbox | null = null;
  offsetMs = 0;
  killed = false;
  readonly stderr: string[] = [];
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(
    readonly role: PeerRole,
    readonly child: LaunchedPeer,
    /** Set for a peer on another host: its standard error, line by line, goes to the run's log. */
    stream?: (line: string) => void,
  ) {
    this.exited = child.status;
    (async () => {
      const dec = new TextDecoder();
      let partial = "";
      for await (const chunk of child.stderr) {
        const text = dec.decode(chunk, { stream: true });
        this.stderr.push(text);
        while (this.stderr.length > 64) this.stderr.shift();
        if (stream) {
          const lines = (partial + text).split("\n");
          partial = lines.pop()!;
          for (const l of lines) if (l.trim()) stream(l);
        }
      }
      if (stream && partial.trim()) stream(partial);
    })().catch(() => {});
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The inbox, once the peer said hello. */
  get box(): Inbox {
    if (!this.inbox) throw new Error(`The ${this.role} never said hello`);
    return this.inbox;
  }

  send(m: ControlMessage): Promise<void> {
    return this.box.channel.send(m).catch(() => {});
  }

  signal(sig: "SIGKILL" | "SIGSTOP" | "SIGCONT"): void {
    this.child.signal(sig);
  }

  /** The end of its standard error, for error messages. */
  tail(): string {
    const text = this.stderr.join("").trim();
    return text ? `\n--- ${this.role} stderr ---\n${text.slice(-2000)}` : "";
  }

  /** Asks it to quit and takes its result (null when it is gone or sends none). */
  async quit(): Promise<ResultMessage | null> {
    if (!this.inbox) return null;
    // A peer that already quit (a discarded destination) has its result queued.
    if (this.killed || this.inbox.ended) return this.inbox.take("result") ?? null;
    await this.send({ type: "quit" });
    return await this.inbox.wait("result", { timeoutMs: 30_000, what: `the ${this.role}` })
      .catch(() => null);
  }
}

/** The link of one attempt between real peers. */
interface RealLink extends AttemptLink {
  /** Where the source connects. */
  target: { hostname: string; port: number };
  proxy: ShapingProxy | null;
}

/** A run between real peer processes. */
export class RealWorld implements World {
  readonly clock = systemClock;
  readonly seeds: ScenarioSeeds;
  #s: ResolvedScenario;
  #log: (line: string) => void;
  #kernel: KernelLink | null = null;
  #tmpDir: string | null = null;
  #listener: Deno.Listener;
  /** This migration's secret and id, fresh per run, sent to both peers over the control channel. */
  #auth = { secret: newSecret(), migrationId: newMigrationId() };
  #controlAddr: string;
  #processes: Process[] = [];
  #proxies: ShapingProxy[] = [];
  #timers: ReturnType<typeof setTimeout>[] = [];
  #linkKind: "direct" | "proxy" | "kernel";
  #shaped: boolean;
  #source: RealSource | null = null;
  #destination: RealDestination | null = null;
  #link: RealLink | null = null;
  /** The first destination and the source, spawned together so that their start-up overlaps. */
  #early: Promise<[Process, Process]> | null = null;
  #lastDigestMs: number | null = null;
  /** The guest's checkpoint file (hashDedup, destination.checkpoint source "guest"), removed at close. */
  checkpointPath: string | null = null;
  #launchers: Record<PeerRole, PeerLauncher>;
  /** Link faults between peers on other hosts: the source host's interface towards the destination. */
  #hostLink: HostLinkControl | null;
  #hostLinkEvents: { atMs: number; what: string }[] = [];
  #startedAtMs = systemClock.nowMs();
  /** A file transport: where the file is (a temporary directory's when the scenario names none). */
  #file: Promise<FilePeerConfig> | null = null;
  #fileTmpDir: string | null = null;
  /** The file sink's figures from the source's last digest. */
  #fileSaved: FileFigures | null = null;
  /** Stream bytes the file sink received (the stream's far end, in the source's process). */
  fileReceivedBytes: number | null = null;

  private constructor(
    s: ResolvedScenario,
    log: (line: string) => void,
    o: {
      kernel: KernelLink | null;
      tmpDir: string | null;
      listener: Deno.Listener;
      addr: string;
      launchers: Record<PeerRole, PeerLauncher>;
      hostLink?: HostLinkControl | null;
    },
  ) {
    this.#launchers = o.launchers;
    this.#hostLink = o.hostLink ?? null;
    this.#s = s;
    this.#log = log;
    this.seeds = scenarioSeeds(s.seed);
    this.#kernel = o.kernel;
    this.#tmpDir = o.tmpDir;
    this.#listener = o.listener;
    this.#controlAddr = o.addr;
    const net = s.network;
    this.#shaped = net.bandwidthBytesPerSec > 0 || net.latencyMs > 0 || net.jitterMs > 0 ||
      net.schedule.length > 0;
    this.#linkKind = net.kernel
      ? "kernel"
      : this.#hostLink
      ? "direct"
      : this.#shaped || s.faults.some((f) => LINK_ACTIONS.has(f.action))
      ? "proxy"
      : "direct";
    const t = s.transport;
    if (t.kind === "file") {
      const layout = s.migration.capabilities.mappedRam ? "mapped" as const : "stream" as const;
      const spec = (path: string) => ({ path, layout, sizeLimitBytes: t.sizeLimitBytes });
      this.#file = t.path !== null
        ? Promise.resolve(spec(t.path))
        : Deno.makeTempDir({ prefix: "ferry-file-" }).then((d) => {
          this.#fileTmpDir = d;
          return spec(`${d}/guest.ferry`);
        });
    }
    const dst = this.#spawn("destination");
    const src = this.#spawn("source");
    this.#early = this.#accept([dst, src]).then(() => [dst, src]);
    this.#early.catch(() => {});
  }

  /**
   * Prepares a real run: kernel shaping when asked (throws
   * {@link KernelShapingUnavailable} when this machine cannot), the control
   * listener, and the first two peer processes.
   */
  static async create(
    s: ResolvedScenario,
    options: { log?: (line: string) => void } = {},
  ): Promise<RealWorld> {
    const log = options.log ?? (() => {});
    const net = s.network;
    const launchers = {
      source: launcherFor(s.hosts.source, "source"),
      destination: launcherFor(s.hosts.destination, "destination"),
    };
    const placed = s.hosts.source.kind !== "local" || s.hosts.destination.kind !== "local";
    if (placed) return await RealWorld.#createPlaced(s, log, launchers);
    if (!net.kernel) {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const addr = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
      await launchers.source.prepare({ controlSocket: null, controlTcp: addr });
      await launchers.destination.prepare({ controlSocket: null, controlTcp: addr });
      return new RealWorld(s, log, { kernel: null, tmpDir: null, listener, addr, launchers });
    }
    const why = await kernelShapingUnavailable(net);
    if (why) throw new KernelShapingUnavailable(`Scenario ${s.name} skipped: ${why}`);
    const stale = await removeStaleNamespaces();
    if (stale.length) log(`removed network namespaces of dead runners: ${stale.join(", ")}`);
    const kernel = await KernelLink.create({
      bandwidthBytesPerSec: net.bandwidthBytesPerSec,
      burstBytes: net.burstBytes,
      latencyMs: net.latencyMs,
      jitterMs: net.jitterMs,
    });
    // The peers live in other network namespaces: control goes over a unix socket.
    const tmpDir = await Deno.makeTempDir({ prefix: "ferry-" });
    const listener = Deno.listen({ transport: "unix", path: `${tmpDir}/control.sock` });
    const addr = `unix:${tmpDir}/control.sock`;
    // In kernel mode the world wraps the peers in its own namespaces (KernelLink.exec).
    await launchers.source.prepare({ controlSocket: null, controlTcp: addr });
    await launchers.destination.prepare({ controlSocket: null, controlTcp: addr });
    return new RealWorld(s, log, { kernel, tmpDir, listener, addr, launchers });
  }

  /**
   * Peers placed by `hosts`: the control listener is a unix socket (a
   * namespace reaches it through the shared filesystem, ssh forwards a socket
   * on the remote host to it); every launcher checks its host before
   * anything starts (reachable, same code); link faults act on the source
   * host's interface towards the destination. On any failure nothing is
   * left: the socket's folder is removed.
   */
  static async #createPlaced(
    s: ResolvedScenario,
    log: (line: string) => void,
    launchers: Record<PeerRole, PeerLauncher>,
  ): Promise<RealWorld> {
    const tmpDir = await Deno.makeTempDir({ prefix: "ferry-" });
    const sock = `${tmpDir}/control.sock`;
    let listener: Deno.Listener | null = null;
    try {
      listener = Deno.listen({ transport: "unix", path: sock });
      const addr = `unix:${sock}`;
      await Promise.all(
        [launchers.source, launchers.destination].map((l) =>
          l.prepare({ controlSocket: sock, controlTcp: addr })
        ),
      );
      const linkFaults = s.faults.some((f) => LINK_ACTIONS.has(f.action));
      const hostLink = linkFaults
        ? await launchers.source.linkControl(launchers.destination.address)
        : null;
      log(
        `peers: source on ${launchers.source.label}, destination on ${launchers.destination.label} (${launchers.destination.address})${
          hostLink ? `; link faults set ${hostLink.what} down` : ""
        }`,
      );
      return new RealWorld(s, log, {
        kernel: null,
        tmpDir,
        listener,
        addr,
        launchers,
        hostLink: hostLink ?? undefined,
      });
    } catch (e) {
      try {
        listener?.close();
      } catch { /* closed */ }
      await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
      throw e;
    }
  }

  /** What faults act on: the current attempt's link and processes. */
  get faultTargets(): FaultTargets {
    const link = (what: string) => {
      const proxy = this.#link?.proxy;
      if (proxy) return proxy;
      const h = this.#hostLink;
      if (h) return this.#hostLinkFaults(h);
      const k = this.#kernel;
      if (!k) throw new Error(`${what} needs a link the runner controls, and there is none`);
      return {
        cut: () => k.cut(),
        partition: (ms: number) => k.partition(ms),
        corrupt: () => {
          throw new TypeError("corrupt needs the userspace link");
        },
      };
    };
    const process = (role: PeerRole): Process => {
      const p = role === "source" ? this.#source?.process : this.#destination?.process;
      if (!p) throw new Error(`there is no ${role} process`);
      return p;
    };
    return {
      cutLink: (at) => link("cut-link").cut(at),
      partition: (ms, at) => link("partition").partition(ms, at),
      corrupt: (n, at) => link("corrupt").corrupt(n, at),
      kill: (role) => {
        const p = process(role);
        p.signal("SIGKILL");
        p.killed = true;
      },
      stop: (role, ms) => {
        const p = process(role);
        p.signal("SIGSTOP");
        systemClock.sleep(ms).then(() => {
          if (!p.killed) {
            try {
              p.signal("SIGCONT");
            } catch (e) {
              this.#log(`SIGCONT to the ${role} failed: ${(e as Error).message}`);
            }
          }
        });
      },
      cancel: async () => {
        const src = this.#source;
        if (!src) throw new Error("there is no source to cancel");
        await src.process.send({ type: "cancel", reason: "cancelled by the runner" });
      },
    };
  }

  /** Link faults between hosts: the source host's interface towards the destination, down (and up). */
  #hostLinkFaults(h: HostLinkControl) {
    const note = (what: string) =>
      this.#hostLinkEvents.push({ atMs: systemClock.nowMs() - this.#startedAtMs, what });
    return {
      cut: async () => {
        await h.setLink(false);
        note(`cut: ${h.what} down`);
      },
      partition: async (ms: number) => {
        await h.setLink(false);
        note(`partition: ${h.what} down for ${ms} ms`);
        this.#timers.push(setTimeout(() => {
          h.setLink(true).then(() => note(`partition over: ${h.what} up`)).catch((e) =>
            this.#log(`partition: ${h.what} up failed: ${(e as Error).message}`)
          );
        }, ms));
      },
      corrupt: () => {
        throw new TypeError("corrupt needs the userspace link");
      },
    };
  }

  /** Runs `main` as it is: real time needs no driver. */
  run<T>(main: () => Promise<T>): Promise<T> {
    return main();
  }

  /** Configures the source (spawned at creation), boots its guest, and waits until it runs. */
  async bootSource(boot: WorldBoot): Promise<SourcePeer> {
    const s = this.#s;
    const [, p] = await this.#early!;
    const config: PeerConfig = {
      migration: s.migration,
      guest: {
        blocks: [{ name: "pc.ram", bytes: s.ramBytes }],
        fill: s.fill,
        seeds: this.seeds.guest,
        workload: s.workload,
        balloon: s.balloon,
      },
      auth: this.#auth,
      holdAt: boot.sourceHolds,
      holdAtBytes: boot.byteMarks,
      ...(this.#file ? { file: await this.#file } : {}),
      ...(this.#linkKind === "proxy" && this.#shaped
        ? { sendBufferBytes: pathBufferBytes(s.network) }
        : {}),
    };
    await p.send({ type: "configure", config });
    await p.box.wait("ready", { timeoutMs: BOOT_TIMEOUT_MS, what: "the source" });
    this.#source = new RealSource(this, p, boot.sourceHolds);
    return this.#source;
  }

  /** A fresh destination for attempt `n` (the first was spawned at creation). */
  async startDestination(n: number, confirm: boolean): Promise<DestinationPeer> {
    const s = this.#s;
    let p: Process;
    if (n === 1) [p] = await this.#early!;
    else {
      p = this.#spawn("destination");
      await this.#accept([p]);
    }
    const config: PeerConfig = {
      migration: s.migration,
      listen: { hostname: this.#destinationAddress, port: 0 },
      auth: this.#auth,
      maxRamBytes: s.ramBytes,
      ram: [{ name: "pc.ram", bytes: s.ramBytes }],
      // A file transport: the restore step, confirmed before it restores (no hold).
      ...(this.#file ? { file: await this.#file } : confirm ? { holdAt: ["resume" as const] } : {}),
      ...this.#checkpointConfig(),
    };
    await p.send({ type: "configure", config });
    const { port } = await p.box.wait("ready", {
      // A destination that indexes a checkpoint (hashDedup) reads all of it before it is ready.
      timeoutMs: config.checkpoint ? BOOT_TIMEOUT_MS : HELLO_TIMEOUT_MS,
      what: "the destination",
    });
    this.#destination = new RealDestination(this, p, port ?? 0);
    return this.#destination;
  }

  /** The checkpoint a destination indexes before it is ready (hashDedup), as its configuration. */
  #checkpointConfig(): Pick<PeerConfig, "checkpoint"> {
    const c = this.#s.checkpoint;
    if (!c || !this.#s.migration.capabilities.hashDedup) return {};
    if (c.source === "file") {
      // The peers may run elsewhere in the file system's view: the path as the runner sees it.
      const path = c.path.startsWith("/") ? c.path : `${Deno.cwd()}/${c.path}`;
      return { checkpoint: { path, format: c.format } };
    }
    // A guest checkpoint never saved: a path that does not exist, reported as such by the destination.
    return {
      checkpoint: {
        path: this.checkpointPath ?? "(the guest's checkpoint was not saved)",
        format: "ferry",
      },
    };
  }

  /** A fresh file for the guest's checkpoint, removed at close. */
  async checkpointFile(): Promise<string> {
    this.checkpointPath ??= await Deno.makeTempFile({ prefix: "ferry-checkpoint-" });
    return this.checkpointPath;
  }

  /** The link of attempt `n`: the peers directly, the shaping proxy, or the kernel's veth pair. */
  openLink(n: number): Promise<AttemptLink> {
    const s = this.#s;
    if (this.#file) {
      // A file transport: the source writes the file itself; nothing to connect or shape.
      this.#link = {
        kind: "direct",
        target: { hostname: "", port: 0 },
        proxy: null,
        events: () => [],
      };
      return Promise.resolve(this.#link);
    }
    const net = s.network;
    const dst = this.#destination!;
    const target = { hostname: this.#destinationAddress, port: dst.port };
    const proxy = this.#linkKind === "proxy"
      ? ShapingProxy.listen(target, {
        bandwidthBytesPerSec: net.bandwidthBytesPerSec,
        burstBytes: net.burstBytes,
        latencyMs: net.latencyMs,
        jitterMs: net.jitterMs,
        schedule: net.schedule,
        seed: this.seeds.jitter(n),
        corruptSeed: this.seeds.corrupt(n),
        preambleBytes: clientPreambleBytes(this.#auth.migrationId),
      })
      : null;
    if (proxy) this.#proxies.push(proxy);
    const k = this.#kernel;
    if (k && n === 1) {
      for (const e of net.schedule) {
        this.#timers.push(setTimeout(() => {
          k.setBandwidth(e.bandwidthBytesPerSec).catch((err) => this.#log(err.message));
        }, e.atMs));
      }
    }
    this.#link = {
      kind: this.#linkKind,
      target: proxy ? { hostname: "127.0.0.1", port: proxy.port } : target,
      proxy,
      events: () => [...(proxy?.events ?? []), ...(k?.events ?? []), ...this.#hostLinkEvents],
    };
    return Promise.resolve(this.#link);
  }

  /** Where the destination listens and the source connects. */
  get #destinationAddress(): string {
    return this.#kernel ? ADDRESSES.destination : this.#launchers.destination.address;
  }

  /** The current attempt's link (for the source). */
  get link(): RealLink {
    return this.#link!;
  }

  /** The scenario (for the peers). */
  get scenario(): ResolvedScenario {
    return this.#s;
  }

  /** Writes a line to the run's log. */
  log(line: string): void {
    this.#log(line);
  }

  /** The source's attempt under way (the file restore step waits for its end). */
  get sourceAttempt(): SourceAttempt | null {
    return this.#source?.attempt ?? null;
  }

  /** Notes what the file sink reported with the source's digest (times on the source's clock). */
  noteFileSink(sink: FileSinkReport, report: SourceReport | undefined): void {
    const saveMs = sink.savedAtMs !== null && report ? sink.savedAtMs - report.startAtMs : null;
    this.fileReceivedBytes = sink.receivedBytes;
    this.#fileSaved = sink.file
      ? {
        sizeBytes: sink.file.sizeBytes,
        writtenBytes: sink.file.writtenBytes,
        pagesRewritten: sink.file.pagesRewritten,
        saveMs,
        restoreMs: null,
        writeBytesPerSec: saveMs ? Math.round(sink.file.writtenBytes / (saveMs / 1000)) : null,
      }
      : null;
    if (sink.outcome !== "completed") this.#log(`file sink: ${sink.error}`);
  }

  /** The file's figures, with the restore's time; null without a file transport or a file. */
  fileFigures(restoreMs: number | null): FileFigures | null | undefined {
    if (!this.#file) return undefined;
    return this.#fileSaved ? { ...this.#fileSaved, restoreMs } : null;
  }

  /** Whether the scenario's transport is a file. */
  get fileTransport(): boolean {
    return this.#file !== null;
  }

  /** Notes the destination's digest time (the lab's, not the guest's). */
  noteDigestMs(ms: number): void {
    this.#lastDigestMs = ms;
  }

  /** Figures that depend on this machine. */
  wall(): Record<string, unknown> {
    return {
      checkerDigestMs: this.#lastDigestMs,
      clockOffsetMs: {
        source: this.#source?.process.offsetMs ?? null,
        destination: this.#destination?.process.offsetMs ?? null,
      },
    };
  }

  /** Stops every process, proxy, namespace and file of the run; reports what is left. */
  async close(): Promise<WorldCleanup> {
    for (const t of this.#timers) clearTimeout(t);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await stopProcesses(this.#processes);
    await Promise.all(this.#proxies.map((p) => p.close()));
    await this.#kernel?.close();
    if (this.#hostLink && this.#hostLinkEvents.length) {
      // A cut link is the hosts' own: set it up again for the next run.
      await this.#hostLink.setLink(true).catch((e) =>
        this.#log(`${this.#hostLink!.what}: not set up again: ${(e as Error).message}`)
      );
    }
    const remoteLeft = (await Promise.all(
      Object.values(this.#launchers).map((l) => l.close().catch((e) => [`${l.label}: ${e}`])),
    )).flat();
    if (this.#tmpDir) await Deno.remove(this.#tmpDir, { recursive: true }).catch(() => {});
    const ck = this.checkpointPath;
    if (ck) await Deno.remove(ck).catch(() => {});
    // The file the scenario did not name is removed; a named one stays (the user's output).
    if (this.#file) await this.#file.catch(() => {});
    const fileTmp = this.#fileTmpDir;
    if (fileTmp) await Deno.remove(fileTmp, { recursive: true }).catch(() => {});
    const left = [this.#tmpDir, fileTmp].filter((d): d is string => d !== null && pathExists(d));
    return {
      ...(remoteLeft.length ? { remoteLeft } : {}),
      processesLeft: this.#processes.filter((p) => peerAlive(p.pid)).map((p) => p.pid),
      tempFilesLeft: [...left, ...(ck && pathExists(ck) ? [ck] : [])],
      namespacesLeft: this.#kernel && !(await this.#kernel.removed())
        ? Object.values(this.#kernel.namespaces)
        : [],
    };
  }

  /** The deadline of one attempt on the source: every limit and stall of the scenario, and a minute. */
  get attemptDeadlineMs(): number {
    const s = this.#s;
    const stallMs = s.faults.reduce((t, f) => t + (f.durationMs ?? 0), 0);
    return s.migration.maxTimeMs + 4 * s.migration.peerTimeoutMs + 60_000 + stallMs;
  }

  /** Routes a peer's notices: the source's phase, byte and progress notices go to the harness. */
  #hook(m: ControlMessage, p: Process): boolean {
    if (p.role === "source") return this.#source?.notice(m) ?? false;
    if (m.type === "phase") {
      if (m.phase === "resume") this.#destination?.notice(m);
      return true;
    }
    return false;
  }

  #spawn(role: PeerRole): Process {
    let child: LaunchedPeer;
    if (this.#kernel) {
      const args = [
        "run",
        "-A",
        new URL(`../../${PEERS[role]}`, import.meta.url).pathname,
        "--control",
        this.#controlAddr,
      ];
      const [cmd, ...rest] = this.#kernel.exec(role, [Deno.execPath(), ...args]);
      const c = new Deno.Command(cmd, {
        args: rest,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      child = {
        pid: c.pid,
        stderr: c.stderr,
        status: c.status,
        signal: (sig) => c.kill(sig),
        terminate: () => c.kill("SIGKILL"),
      };
    } else child = this.#launchers[role].launch([PEERS[role]]);
    const l = this.#launchers[role];
    const p = new Process(
      role,
      child,
      l.placement.kind === "local" ? undefined : (line) => this.#log(`${role}@${l.label}: ${line}`),
    );
    this.#processes.push(p);
    return p;
  }

  /** Waits until each of `peers` has connected and said hello; gives each its inbox and clock offset. */
  async #accept(peers: Process[]): Promise<void> {
    const byRole = new Map<PeerRole, Process>(peers.map((p) => [p.role, p]));
    const timeout = new AbortController();
    const timer = systemClock.sleep(HELLO_TIMEOUT_MS, timeout.signal).then(() => {
      if (!timeout.signal.aborted) {
        throw new Error(
          `Peers did not say hello within ${HELLO_TIMEOUT_MS} ms${
            peers.map((p) => p.tail()).join("")
          }`,
        );
      }
    });
    const died = Promise.race(peers.map((p) =>
      p.exited.then((st) => {
        throw new Error(`The ${p.role} exited with code ${st.code} before saying hello${p.tail()}`);
      })
    ));
    try {
      for (let i = 0; i < peers.length; i++) {
        const conn = await Promise.race([this.#listener.accept(), timer, died]);
        if (!conn) throw new Error("The control listener closed");
        (conn as Deno.TcpConn).setNoDelay?.(true);
        const ch = new ControlChannel(conn);
        const hello = await Promise.race([ch.next(), timer, died]);
        if (!hello || hello.type !== "hello") {
          throw new Error("A peer connected without saying hello");
        }
        const p = byRole.get(hello.role);
        if (!p) throw new Error(`An unexpected ${hello.role} connected`);
        p.inbox = new Inbox(ch, (m) => this.#hook(m, p));
      }
    } finally {
      timeout.abort();
      died.catch(() => {});
    }
    for (const p of peers) p.offsetMs = await estimateOffset(p);
  }
}

/** The source process. */
class RealSource implements SourcePeer {
  attempt: SourceAttempt | null = null;
  #w: RealWorld;
  #events: PeerEvents | null = null;
  #holds: Set<string>;

  constructor(w: RealWorld, readonly process: Process, holds: readonly string[]) {
    this.#w = w;
    this.#holds = new Set(holds);
  }

  get killed(): boolean {
    return this.process.killed;
  }

  get alive(): boolean {
    return !this.process.killed && !this.process.box.ended;
  }

  /** A notice from the source process; true when it was consumed here. */
  notice(m: ControlMessage): boolean {
    const events = this.#events;
    const p = this.process;
    if (m.type === "progress") {
      events?.progress(m.record);
      return true;
    }
    if (m.type === "phase") {
      // The source waits at a phase it was told to hold at, until `continue`.
      const done = events?.phase(m.phase, m.round, m.bytes ?? 0) ?? Promise.resolve();
      if (this.#holds.has(m.phase)) {
        void done.catch(() => {}).then(() => p.send({ type: "continue" }));
      } else void done.catch(() => {});
      return true;
    }
    if (m.type === "bytes") {
      const done = events?.bytes(m.bytes) ?? Promise.resolve();
      void done.catch(() => {}).then(() => p.send({ type: "continue" }));
      return true;
    }
    return false;
  }

  migrate(_n: number, events: PeerEvents): SourceAttempt {
    this.#events = events;
    const p = this.process;
    const box = p.box;
    const outcome = box.wait("outcome", { what: "the source" }).then(
      (o) => ({ outcome: o.outcome, ...(o.error ? { error: o.error } : {}) }),
      () => null,
    );
    const digest = box.wait("digest", { timeoutMs: this.#w.attemptDeadlineMs, what: "the source" });
    digest.catch(() => {});
    const end = (async (): Promise<SourceEnd> => {
      await p.send({ type: "start", connect: this.#w.link.target });
      let d: DigestMessage;
      try {
        d = await digest;
      } catch (e) {
        // A live source that sends nothing past every deadline is the harness's failure.
        if (!p.killed) throw new Error(`${(e as Error).message}${p.tail()}`);
        return { report: null, endAtMs: systemClock.nowMs(), judged: null };
      }
      if (d.fileSink) this.#w.noteFileSink(d.fileSink, d.report);
      const report = shiftReport(d.report!, p.offsetMs);
      return { report, endAtMs: report.endAtMs, judged: judgement(d) };
    })();
    this.attempt = { outcome, end };
    return this.attempt;
  }

  async saveCheckpoint(): Promise<void> {
    const p = this.process;
    const path = await this.#w.checkpointFile();
    const done = p.box.wait("checkpointed", { timeoutMs: 120_000, what: "the source" });
    await p.send({ type: "checkpoint", path });
    const m = await done;
    if (m.error) {
      await Deno.remove(path).catch(() => {});
      this.#w.checkpointPath = null;
      throw new Error(`The source could not save its checkpoint: ${m.error}`);
    }
  }

  async cont(): Promise<SourceJudgement | null> {
    const p = this.process;
    if (!this.alive) return null;
    const again = p.box.wait("digest", { timeoutMs: 60_000, what: "the source" });
    await p.send({ type: "cont" });
    try {
      return judgement(await again);
    } catch (e) {
      this.#w.log(`the source sent no digest after cont: ${(e as Error).message}${p.tail()}`);
      return null;
    }
  }

  async quit(): Promise<SourceFinal> {
    const r = await this.process.quit();
    return {
      guestRunning: !this.process.killed && (r?.guestRunning ?? false),
      rssBytesMax: r?.rssBytesMax ?? null,
    };
  }
}

/** The destination process of one attempt. */
class RealDestination implements DestinationPeer {
  #w: RealWorld;
  #confirm: ((round: number) => Promise<boolean>) | null = null;
  #resumeNotice: { round: number } | null = null;

  constructor(w: RealWorld, readonly process: Process, readonly port: number) {
    this.#w = w;
  }

  get killed(): boolean {
    return this.process.killed;
  }

  /** The destination holds at `resume`: the harness confirms or discards. */
  notice(m: Extract<ControlMessage, { type: "phase" }>): void {
    this.#resumeNotice = { round: m.round };
    this.#decide();
  }

  #decide(): void {
    const confirm = this.#confirm;
    const notice = this.#resumeNotice;
    if (!confirm || !notice) return;
    this.#resumeNotice = null;
    const p = this.process;
    void confirm(notice.round).catch(() => false).then((go) => {
      if (p.killed) return;
      return p.send(go ? { type: "continue" } : { type: "quit" });
    });
  }

  async switchover(
    confirm: ((round: number) => Promise<boolean>) | null,
  ): Promise<DestinationLoaded | null> {
    const p = this.process;
    if (this.#w.fileTransport) {
      // The restore step: once the file is whole and the source completed (and the harness
      // confirmed), restore the file into this fresh destination and resume it.
      const end = await this.#w.sourceAttempt?.end.catch(() => null);
      const saved = end?.report?.outcome === "completed";
      const go = saved && (confirm ? await confirm(end?.report?.rounds ?? 0) : true);
      if (!go || p.killed) return null;
      await p.send({ type: "restore" });
      confirm = null;
    }
    this.#confirm = confirm;
    this.#decide();
    const box = p.box;
    const d = await Promise.race([
      box.wait("digest", { timeoutMs: this.#w.attemptDeadlineMs, what: "the destination" }),
      box.wait("error", { what: "the destination" }).then(() => null),
      p.exited.then(() => null),
    ]).catch(() => null);
    if (!d || d.resumeAtMs == null) return null;
    this.#w.noteDigestMs(d.digestMs ?? 0);
    return {
      image: { kind: "digests", digests: d.pages, blocks: d.blocks },
      counter: d.counter,
      resumeAtMs: d.resumeAtMs - (d.digestMs ?? 0) - p.offsetMs,
    };
  }

  async quit(): Promise<DestinationFinal> {
    const p = this.process;
    const r = await p.quit();
    const summary = r?.destination ? shiftSummary(r.destination, p.offsetMs) : null;
    const file = this.#w.fileFigures(summary?.restoreMs ?? null);
    // A file transport: the stream ended in the file sink; it says what it received.
    if (summary && file !== undefined) summary.receivedBytes = this.#w.fileReceivedBytes ?? 0;
    return {
      summary: summary ?? lostSummary(p),
      guestRunning: !p.killed && (r?.guestRunning ?? false),
      rssBytesMax: r?.rssBytesMax ?? null,
      ...(file !== undefined ? { file } : {}),
    };
  }
}

function lostSummary(p: Process): DestinationSummary {
  return emptyDestinationSummary(
    p.killed ? "The destination process was killed" : "The destination sent no result",
  );
}

/** How the source judged its guest, from its digest message. */
function judgement(d: DigestMessage): SourceJudgement {
  return {
    image: { kind: "digests", digests: d.pages, blocks: d.blocks },
    counter: d.counter,
    intact: d.intact ?? null,
    free: d.free ?? null,
    lied: d.lied ?? null,
  };
}

/** A source report with its times on the runner's clock. */
function shiftReport(r: SourceReport, offsetMs: number): SourceReport {
  const at = (t: number) => t - offsetMs;
  return {
    ...r,
    startAtMs: at(r.startAtMs),
    setupDoneAtMs: at(r.setupDoneAtMs),
    stopAtMs: r.stopAtMs === null ? null : at(r.stopAtMs),
    ackAtMs: r.ackAtMs === null ? null : at(r.ackAtMs),
    endAtMs: at(r.endAtMs),
  };
}

/** A destination summary with its times on the runner's clock. */
function shiftSummary(d: DestinationSummary, offsetMs: number): DestinationSummary {
  const at = (t: number | null) => t === null ? null : t - offsetMs;
  return {
    ...d,
    firstByteAtMs: at(d.firstByteAtMs),
    loadedAtMs: at(d.loadedAtMs),
    resumeAtMs: at(d.resumeAtMs),
    ...(d.endAtMs !== undefined ? { endAtMs: d.endAtMs - offsetMs } : {}),
  };
}

/**
 * The send buffer a real path of this shape lets the source fill: one
 * bandwidth-delay product (10 ms of queueing counted in), at least 64 KiB;
 * the kernel doubles it, as autotuning would give twice the window.
 */
function pathBufferBytes(net: ResolvedScenario["network"]): number {
  const peak = Math.max(
    net.bandwidthBytesPerSec,
    ...net.schedule.map((e) => e.bandwidthBytesPerSec),
  );
  const rttMs = 2 * net.latencyMs + net.jitterMs + 10;
  return Math.max(64 * 1024, Math.ceil((peak * rttMs) / 1000));
}

/** Estimates a peer's clock offset (peer minus runner) from the smallest of five round trips. */
async function estimateOffset(p: Process): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 5; i++) {
    const t0 = systemClock.nowMs();
    await p.send({ type: "ping", t0 });
    const pong = await p.box.wait("pong", { timeoutMs: 5_000, what: `the ${p.role}` });
    const t1 = systemClock.nowMs();
    if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: pong.peerMs - (t0 + t1) / 2 };
  }
  return best.offset;
}

/**
 * Waits for every process to end (each was asked to quit), then kills what
 * is left; never leaves a process behind. The control channel is closed
 * first: an ssh client keeps its connection (and waits) while a forwarded
 * control connection is open.
 */
async function stopProcesses(processes: Process[]): Promise<void> {
  await Promise.all(processes.map(async (p) => {
    p.inbox?.channel.close();
    const exited = await Promise.race([
      p.exited.then(() => true),
      systemClock.sleep(3_000).then(() => false),
    ]);
    if (!exited) {
      try {
        p.child.terminate();
      } catch {
        // already gone
      }
      await p.exited;
    }
  }));
}

/** Whether `pid` is still one of our peer processes (not reaped, or a live peer). */
function peerAlive(pid: number): boolean {
  try {
    const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return cmd.includes("peers/source.ts") || cmd.includes("peers/destination.ts");
  } catch {
    return false;
  }
}
