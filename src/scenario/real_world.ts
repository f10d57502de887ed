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
import type { ControlMessage, DestinationSummary, PeerConfig } from "../control/protocol.ts";
import type { SourceReport } from "../engine/source.ts";
import type { FaultTargets, PeerRole } from "../faults/inject.ts";
import {
  ADDRESSES,
  KernelLink,
  kernelShapingUnavailable,
  removeStaleNamespaces,
} from "../net/netns.ts";
import { ShapingProxy } from "../net/shaper.ts";
import { clientPreambleBytes, newMigrationId, newSecret } from "../net/handshake.ts";
import { type ScenarioSeeds, scenarioSeeds } from "./seeds.ts";
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

/** Where the peers' entry points live. */
const PEERS = {
  source: new URL("../../peers/source.ts", import.meta.url),
  destination: new URL("../../peers/destination.ts", import.meta.url),
};

/** Milliseconds a peer may take to start and say hello. */
const HELLO_TIMEOUT_MS = 30_000;
/** Milliseconds the source may take to boot its guest. */
const BOOT_TIMEOUT_MS = 120_000;

/** Fault actions that act on the link. */
const LINK_ACTIONS = new Set(["cut-link", "partition", "corrupt"]);

/** Thrown when a scenario asks for kernel shaping this machine cannot do; the CLI reports it as skipped. */
export class KernelShapingUnavailable extends Error {
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

  constructor(readonly role: PeerRole, readonly child: Deno.ChildProcess) {
    this.exited = child.status;
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.stderr.push(dec.decode(chunk));
        while (this.stderr.length > 64) this.stderr.shift();
      }
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

  signal(sig: Deno.Signal): void {
    this.child.kill(sig);
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

  private constructor(
    s: ResolvedScenario,
    log: (line: string) => void,
    o: { kernel: KernelLink | null; tmpDir: string | null; listener: Deno.Listener; addr: string },
  ) {
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
      : this.#shaped || s.faults.some((f) => LINK_ACTIONS.has(f.action))
      ? "proxy"
      : "direct";
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
    if (!net.kernel) {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const addr = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
      return new RealWorld(s, log, { kernel: null, tmpDir: null, listener, addr });
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
    return new RealWorld(s, log, { kernel, tmpDir, listener, addr: `unix:${tmpDir}/control.sock` });
  }

  /** What faults act on: the current attempt's link and processes. */
  get faultTargets(): FaultTargets {
    const link = (what: string) => {
      const proxy = this.#link?.proxy;
      if (proxy) return proxy;
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
      listen: { hostname: this.#kernel ? ADDRESSES.destination : "127.0.0.1", port: 0 },
      auth: this.#auth,
      maxRamBytes: s.ramBytes,
      ram: [{ name: "pc.ram", bytes: s.ramBytes }],
      ...(confirm ? { holdAt: ["resume" as const] } : {}),
    };
    await p.send({ type: "configure", config });
    const { port } = await p.box.wait("ready", {
      timeoutMs: HELLO_TIMEOUT_MS,
      what: "the destination",
    });
    this.#destination = new RealDestination(this, p, port!);
    return this.#destination;
  }

  /** The link of attempt `n`: the peers directly, the shaping proxy, or the kernel's veth pair. */
  openLink(n: number): Promise<AttemptLink> {
    const s = this.#s;
    const net = s.network;
    const dst = this.#destination!;
    const target = { hostname: this.#kernel ? ADDRESSES.destination : "127.0.0.1", port: dst.port };
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
      events: () => [...(proxy?.events ?? []), ...(k?.events ?? [])],
    };
    return Promise.resolve(this.#link);
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
    if (this.#tmpDir) await Deno.remove(this.#tmpDir, { recursive: true }).catch(() => {});
    return {
      processesLeft: this.#processes.filter((p) => peerAlive(p.pid)).map((p) => p.pid),
      tempFilesLeft: this.#tmpDir && exists(this.#tmpDir) ? [this.#tmpDir] : [],
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
    const args = ["run", "-A", PEERS[role].pathname, "--control", this.#controlAddr];
    const [cmd, ...rest] = this.#kernel
      ? this.#kernel.exec(role, [Deno.execPath(), ...args])
      : [Deno.execPath(), ...args];
    const child = new Deno.Command(cmd, {
      args: rest,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const p = new Process(role, child);
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
      const report = shiftReport(d.report!, p.offsetMs);
      return { report, endAtMs: report.endAtMs, judged: judgement(d) };
    })();
    return { outcome, end };
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
    this.#confirm = confirm;
    this.#decide();
    const p = this.process;
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
    return {
      summary: summary ?? lostSummary(p),
      guestRunning: !p.killed && (r?.guestRunning ?? false),
      rssBytesMax: r?.rssBytesMax ?? null,
    };
  }
}

function lostSummary(p: Process): DestinationSummary {
  return {
    outcome: "failed",
    error: p.killed ? "The destination process was killed" : "The destination sent no result",
    firstByteAtMs: null,
    loadedAtMs: null,
    resumeAtMs: null,
    digestMs: 0,
    receivedBytes: 0,
    rounds: 0,
    touchesAfterResume: 0,
    counter: null,
  };
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

/** Asks every process to quit, then kills what is left; never leaves a process behind. */
async function stopProcesses(processes: Process[]): Promise<void> {
  await Promise.all(processes.map(async (p) => {
    const exited = await Promise.race([
      p.exited.then(() => true),
      systemClock.sleep(3_000).then(() => false),
    ]);
    if (!exited) {
      try {
        p.signal("SIGKILL");
      } catch {
        // already gone
      }
      await p.exited;
    }
    p.inbox?.channel.close();
  }));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
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
