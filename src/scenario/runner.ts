/**
 * The scenario runner: starts the destination and source peers as separate
 * processes, configures them over control connections, lets the guest warm
 * up, starts the migration, collects progress, digests and reports, judges
 * the run and stops every process it started, whatever happens.
 *
 * Downtime is the source vCPU's stop to the destination vCPU's resume, on the
 * runner's clock: each peer's clock offset is estimated from ping/pong round
 * trips (the sample with the smallest round trip wins). The destination's
 * page digest, taken before its vCPU runs, is the lab's instrument, not part
 * of the guest's downtime: its duration is subtracted and reported as
 * `wall.checkerDigestMs`.
 *
 * Network and faults: a shaped network, or a link fault, puts the shaping
 * proxy (`src/net/shaper.ts`) between the peers; `network.kernel` puts the
 * peers in network namespaces joined by a `tc`-shaped veth pair instead
 * (`src/net/netns.ts`). Faults fire through `src/faults/real_faults.ts`: the
 * source holds at the phases and byte offsets that have a trigger until the
 * runner has injected the fault. With faults or `retry`, the runner confirms
 * the switchover: the destination resumes the guest only once the source
 * has completed, and a destination that never resumes it makes the runner
 * resume the guest on the source (nothing lost). `retry` starts a fresh
 * destination after a failed attempt and migrates again, once.
 *
 * @example
 * ```ts ignore
 * import { runScenario } from "./runner.ts";
 * const result = await runScenario({ name: "idle", guest: { ram: "64MiB", workload: { kind: "idle" } } });
 * console.log(result.outcome, result.memoryEqual);
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
  type PeerConfig,
} from "../control/protocol.ts";
import type { SourceReport } from "../engine/source.ts";
import { RealFaults } from "../faults/real_faults.ts";
import {
  ADDRESSES,
  KernelLink,
  kernelShapingUnavailable,
  removeStaleNamespaces,
} from "../net/netns.ts";
import { ShapingProxy } from "../net/shaper.ts";
import { compareDigests, countBits } from "./checker.ts";
import { buildResult } from "./result.ts";
import { runSimulation } from "./sim_runner.ts";
import type { ProgressRecord, Result, Scenario } from "../contract/types.ts";
import { type ResolvedScenario, resolveScenario } from "./validate.ts";

/** Runner options. */
export interface RunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Overrides the scenario's mode. */
  mode?: "real" | "sim";
  /** Receives one line per notable event (phases, peers' errors). */
  log?: (line: string) => void;
  /** Receives each progress record as it arrives. */
  onProgress?: (record: ProgressRecord) => void;
}

/** Where the peers' entry points live. */
const PEERS = {
  source: new URL("../../peers/source.ts", import.meta.url),
  destination: new URL("../../peers/destination.ts", import.meta.url),
};

/** Milliseconds a peer may take to start and say hello. */
const HELLO_TIMEOUT_MS = 30_000;

type Role = "source" | "destination";

/** A spawned peer process and its control inbox. */
interface Peer {
  role: Role;
  child: Deno.ChildProcess;
  stderr: string[];
  inbox?: Inbox;
  offsetMs: number;
  exited: Promise<Deno.CommandStatus>;
  /** Killed by a fault. */
  killed: boolean;
}

/**
 * Runs one scenario and returns its result. Throws TypeError (with every
 * validation error in the message) when the scenario is invalid.
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<Result> {
  const { resolved, errors } = resolveScenario(scenario, {
    seed: options.seed,
    mode: options.mode,
  });
  if (!resolved) {
    throw new TypeError(`Scenario is invalid:\n  ${errors.join("\n  ")}`, { cause: errors });
  }
  if (resolved.mode === "sim") return await runSimulation(resolved, options);
  return await runResolved(resolved, options);
}

/** Fault actions that act on the link. */
const LINK_ACTIONS = new Set(["cut-link", "partition", "corrupt"]);

type DigestMessage = Extract<ControlMessage, { type: "digest" }>;
type OutcomeMessage = Extract<ControlMessage, { type: "outcome" }>;

/** One migration attempt, as it runs. */
interface Attempt {
  n: number;
  dst: Peer;
  proxy: ShapingProxy | null;
  /** Runner clock. */
  startAtMs: number;
  /** The source's outcome notice; null when the source died first. */
  srcOutcome: Promise<OutcomeMessage | null>;
  srcDigest: Promise<DigestMessage>;
}

/** What one attempt came to. */
interface AttemptEnd {
  n: number;
  dst: Peer;
  proxy: ShapingProxy | null;
  startAtMs: number;
  report: SourceReport;
  srcDigest: DigestMessage | null;
  dstDigest: DigestMessage | null;
  /** The source completed but the destination never resumed the guest; the source resumed it. */
  switchoverFailed: boolean;
  /** After a failed switchover: the source guest's intact check once resumed. */
  contDigest: DigestMessage | null;
  dstSummary: DestinationSummary | null;
}

async function runResolved(s: ResolvedScenario, options: RunOptions): Promise<Result> {
  const log = options.log ?? (() => {});
  const t0 = systemClock.nowMs();
  const net = s.network;
  if (net.kernel) {
    const why = await kernelShapingUnavailable(net);
    if (why) throw new KernelShapingUnavailable(`Scenario ${s.name} skipped: ${why}`);
    const stale = await removeStaleNamespaces();
    if (stale.length) log(`removed network namespaces of dead runners: ${stale.join(", ")}`);
  }
  const shaped = net.bandwidthBytesPerSec > 0 || net.latencyMs > 0 || net.jitterMs > 0 ||
    net.schedule.length > 0;
  const linkKind: "direct" | "proxy" | "kernel" = net.kernel
    ? "kernel"
    : shaped || s.faults.some((f) => LINK_ACTIONS.has(f.action))
    ? "proxy"
    : "direct";
  // With faults (or retry), the runner confirms the switchover as libvirt does:
  // the destination resumes the guest only once the source has completed.
  const confirmResume = s.faults.length > 0 || s.retry;
  const stallMs = s.faults.reduce((t, f) => t + (f.durationMs ?? 0), 0);
  const peerTimeoutMs = s.migration.peerTimeoutMs;
  const peers: Peer[] = [];
  const proxies: ShapingProxy[] = [];
  const progress: ProgressRecord[] = [];
  const phases: { role: Role; phase: string; round: number; atMs: number }[] = [];
  const timers: ReturnType<typeof setTimeout>[] = [];
  let kernel: KernelLink | null = null;
  let tmpDir: string | null = null;
  let listener: Deno.Listener | null = null;
  let attempt: Attempt | null = null;
  let src: Peer | null = null;
  let faults: RealFaults | null = null;
  let finish: ((cleanup: NonNullable<Result["cleanup"]>) => Result) | null = null;
  try {
    let controlAddr: string;
    if (kernel === null && net.kernel) {
      kernel = await KernelLink.create({
        bandwidthBytesPerSec: net.bandwidthBytesPerSec,
        burstBytes: net.burstBytes,
        latencyMs: net.latencyMs,
        jitterMs: net.jitterMs,
      });
      // The peers live in other network namespaces: control goes over a unix socket.
      tmpDir = await Deno.makeTempDir({ prefix: "ferry-" });
      listener = Deno.listen({ transport: "unix", path: `${tmpDir}/control.sock` });
      controlAddr = `unix:${tmpDir}/control.sock`;
    } else {
      listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      controlAddr = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
    }
    const spawn = (role: Role) => {
      const p = spawnPeer(role, controlAddr, kernel);
      peers.push(p);
      return p;
    };
    if (s.faults.length) {
      faults = new RealFaults(s.faults, {
        process: (role) => {
          const p = role === "source" ? src! : attempt!.dst;
          return {
            pid: p.child.pid,
            kill: (sig) => p.child.kill(sig),
            get killed() {
              return p.killed;
            },
            set killed(v) {
              p.killed = v;
            },
          };
        },
        link: () => {
          const proxy = attempt?.proxy;
          if (proxy) return proxy;
          const k = kernel;
          if (!k) return null;
          return {
            cut: () => k.cut(),
            partition: (ms) => k.partition(ms),
            corrupt: () => {
              throw new TypeError("corrupt needs the userspace link");
            },
          };
        },
        cancel: () =>
          src!.inbox!.channel.send({ type: "cancel", reason: "cancelled by the runner" }),
        log,
      });
    }
    const f = faults;
    const cont = (p: Peer) => p.inbox?.channel.send({ type: "continue" }).catch(() => {});
    // Held at resume: the destination goes on only once the source completed.
    const confirm = async (d: Peer, round: number, atMs: number) => {
      const a = attempt!;
      const out = await a.srcOutcome;
      const go = out?.outcome === "completed";
      if (go && f?.resumePending) {
        // Resume faults fire after the handover: the source has judged its guest.
        const digest = await a.srcDigest.catch(() => null);
        await f.phase("resume", round, { bytes: digest?.report?.bytes.total ?? 0, atMs });
      }
      if (d.killed) return;
      if (!go) log("destination: discarded, the source did not complete");
      await d.inbox?.channel.send(go ? { type: "continue" } : { type: "quit" }).catch(() => {});
    };
    const hook = (m: ControlMessage, p: Peer): boolean => {
      if (m.type === "progress") {
        progress.push(m.record);
        options.onProgress?.(m.record);
        f?.noteBytes(m.record.transferredBytes);
        return true;
      }
      if (m.type === "phase") {
        phases.push({ role: p.role, phase: m.phase, round: m.round, atMs: m.atMs });
        log(`${p.role}: ${m.phase}${m.phase === "round" ? ` ${m.round}` : ""}`);
        const atMs = m.atMs - p.offsetMs;
        if (p.role === "source" && f) {
          const done = f.phase(m.phase, m.round, { bytes: m.bytes ?? 0, atMs });
          if (f.sourceHolds.includes(m.phase)) void done.catch(() => {}).then(() => cont(p));
        } else if (p.role === "destination" && m.phase === "resume" && confirmResume) {
          void confirm(p, m.round, atMs).catch((e) => log(`confirm failed: ${e.message}`));
        }
        return true;
      }
      if (m.type === "bytes") {
        const done = f ? f.bytes(m.bytes, m.atMs - p.offsetMs) : Promise.resolve();
        void done.catch(() => {}).then(() => cont(p));
        return true;
      }
      return false;
    };

    let dst = spawn("destination");
    src = spawn("source");
    await acceptPeers(listener, [dst, src], hook);
    for (const p of [dst, src]) p.offsetMs = await estimateOffset(p);

    const blocks = [{ name: "pc.ram", bytes: s.ramBytes }];
    const dstHost = kernel ? ADDRESSES.destination : "127.0.0.1";
    const configureDestination = async (d: Peer) => {
      const dstConfig: PeerConfig = {
        migration: s.migration,
        listen: { hostname: dstHost, port: 0 },
        maxRamBytes: s.ramBytes,
        ram: blocks,
        ...(confirmResume ? { holdAt: ["resume" as const] } : {}),
      };
      await d.inbox!.channel.send({ type: "configure", config: dstConfig });
      const { port } = await d.inbox!.wait("ready", {
        timeoutMs: HELLO_TIMEOUT_MS,
        what: "the destination",
      });
      return port!;
    };
    let dstPort = await configureDestination(dst);
    const srcConfig: PeerConfig = {
      migration: s.migration,
      guest: {
        blocks,
        fill: s.fill,
        seed: s.seed,
        workload: s.workload,
        balloon: s.balloon,
      },
      ...(f ? { holdAt: f.sourceHolds, holdAtBytes: f.byteMarks } : {}),
      ...(linkKind === "proxy" && shaped ? { sendBufferBytes: pathBufferBytes(net) } : {}),
    };
    await src.inbox!.channel.send({ type: "configure", config: srcConfig });
    await src.inbox!.wait("ready", { timeoutMs: 120_000, what: "the source" });
    log(`guest running; warming up for ${s.warmupMs} ms`);
    await systemClock.sleep(s.warmupMs);

    const source = src;
    const deadline = s.migration.maxTimeMs + 4 * peerTimeoutMs + 60_000 + stallMs;
    const runAttempt = async (n: number, d: Peer): Promise<AttemptEnd> => {
      const target = { hostname: dstHost, port: dstPort };
      const proxy = linkKind === "proxy"
        ? ShapingProxy.listen(target, {
          bandwidthBytesPerSec: net.bandwidthBytesPerSec,
          burstBytes: net.burstBytes,
          latencyMs: net.latencyMs,
          jitterMs: net.jitterMs,
          schedule: net.schedule,
          seed: s.seed + n - 1,
        })
        : null;
      if (proxy) proxies.push(proxy);
      const startAtMs = systemClock.nowMs();
      const a: Attempt = {
        n,
        dst: d,
        proxy,
        startAtMs,
        srcOutcome: source.inbox!.wait("outcome", { what: "the source" }).catch(() => null),
        srcDigest: source.inbox!.wait("digest", { timeoutMs: deadline, what: "the source" }),
      };
      a.srcDigest.catch(() => {});
      attempt = a;
      if (f) {
        f.attempt = n;
        f.start(startAtMs);
      }
      if (kernel && n === 1) {
        const k = kernel;
        for (const e of net.schedule) {
          timers.push(setTimeout(() => {
            k.setBandwidth(e.bandwidthBytesPerSec).catch((err) => log(err.message));
          }, e.atMs));
        }
      }
      await source.inbox!.channel.send({
        type: "start",
        connect: proxy ? { hostname: "127.0.0.1", port: proxy.port } : target,
      });
      let srcDigest: DigestMessage | null;
      try {
        srcDigest = await a.srcDigest;
      } catch (e) {
        if (!source.killed) throw new Error(`${(e as Error).message}${tail(source)}`);
        srcDigest = null;
      }
      const out = await a.srcOutcome;
      const report = srcDigest?.report ??
        lostSourceReport(source, a, out, progress.filter((p) => p.timeMs >= 0));
      let dstDigest: DigestMessage | null = null;
      if (report.outcome === "completed") {
        // The destination digests once it loaded everything, before it resumes.
        dstDigest = await Promise.race([
          d.inbox!.wait("digest", {
            timeoutMs: peerTimeoutMs + 10_000 + stallMs,
            what: "the destination",
          }),
          d.inbox!.wait("error", { what: "the destination" }).then(() => null),
          d.exited.then(() => null),
        ]).catch(() => null);
      }
      let contDigest: DigestMessage | null = null;
      const switchoverFailed = report.outcome === "completed" && dstDigest === null;
      if (switchoverFailed && !source.killed) {
        // The destination never resumed: the guest is still on the source, stopped. Resume it there.
        log("switchover failed: resuming the source guest");
        const again = source.inbox!.wait("digest", { timeoutMs: 60_000, what: "the source" });
        await source.inbox!.channel.send({ type: "cont" });
        contDigest = await again.catch((e) => {
          log(`the source sent no digest after cont: ${e.message}`);
          source.exited.then((st) => log(`source exit ${st.code} ${tail(source)}`));
          return null;
        });
      }
      return {
        n,
        dst: d,
        proxy,
        startAtMs,
        report,
        srcDigest,
        dstDigest,
        switchoverFailed,
        contDigest,
        dstSummary: null,
      };
    };

    const ends: AttemptEnd[] = [];
    for (let n = 1;; n++) {
      const end = await runAttempt(n, dst);
      ends.push(end);
      const failed = end.report.outcome === "failed" || end.switchoverFailed;
      if (!(failed && s.retry && n === 1 && !source.killed && !source.inbox!.ended)) break;
      // Retry: discard this destination, start a fresh one, migrate again.
      log("retry: starting a fresh destination");
      await f?.settle();
      end.dstSummary = (await quitPeer(end.dst))?.destination ?? null;
      dst = spawn("destination");
      await acceptPeers(listener, [dst], hook);
      dst.offsetMs = await estimateOffset(dst);
      dstPort = await configureDestination(dst);
    }
    f?.close();
    await f?.settle();
    const last = ends.at(-1)!;
    if (last.dstDigest) await systemClock.sleep(s.settleMs);
    const [srcRes, dstRes] = await Promise.all([quitPeer(source), quitPeer(last.dst)]);
    last.dstSummary = dstRes?.destination ?? null;
    const runnerMs = systemClock.nowMs() - t0;
    finish = (cleanup) =>
      collect(s, {
        ends,
        srcResult: srcRes,
        dstRssBytesMax: dstRes?.rssBytesMax ?? 0,
        srcOffsetMs: source.offsetMs,
        progress,
        sourceKilled: source.killed,
        faults: f,
        linkKind,
        kernel,
        cleanup,
        runnerMs,
        t0: ends[0].startAtMs,
      });
  } finally {
    for (const t of timers) clearTimeout(t);
    faults?.close();
    await faults?.settle();
    listener?.close();
    await stopPeers(peers);
    await Promise.all(proxies.map((p) => p.close()));
    await kernel?.close();
    if (tmpDir) await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
  return finish!({
    processesLeft: peers.filter((p) => peerAlive(p.child.pid)).map((p) => p.child.pid),
    tempFilesLeft: tmpDir && exists(tmpDir) ? [tmpDir] : [],
    namespacesLeft: kernel && !(await kernel.removed()) ? Object.values(kernel.namespaces) : [],
  });
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

/** Thrown when a scenario asks for kernel shaping this machine cannot do; the CLI reports it as skipped. */
export class KernelShapingUnavailable extends Error {
  override name = "NotSupported";
}

/** The report of a source that died before it could send one. */
function lostSourceReport(
  p: Peer,
  a: Attempt,
  out: OutcomeMessage | null,
  progress: ProgressRecord[],
): SourceReport {
  const last = progress.at(-1);
  const now = systemClock.nowMs() + p.offsetMs;
  return {
    outcome: out?.outcome ?? "failed",
    error: out?.error ??
      (p.killed
        ? "The source process was killed: the guest died with it"
        : "The source process died: the guest died with it"),
    startAtMs: a.startAtMs + p.offsetMs,
    setupDoneAtMs: a.startAtMs + p.offsetMs,
    stopAtMs: null,
    ackAtMs: null,
    endAtMs: out ? out.atMs : now,
    iterations: progress.length,
    rounds: last?.round ?? 0,
    converged: false,
    forced: false,
    bytes: { total: last?.transferredBytes ?? 0, normal: 0, zero: 0 },
    pages: { total: 0, normal: 0, zero: 0 },
    progress,
    guestRunning: false,
  };
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

function spawnPeer(role: Role, controlAddr: string, kernel: KernelLink | null): Peer {
  const args = ["run", "-A", PEERS[role].pathname, "--control", controlAddr];
  const [cmd, ...rest] = kernel ? kernel.exec(role, [Deno.execPath(), ...args]) : [
    Deno.execPath(),
    ...args,
  ];
  const child = new Deno.Command(cmd, {
    args: rest,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr.push(dec.decode(chunk));
      while (stderr.length > 64) stderr.shift();
    }
  })().catch(() => {});
  return { role, child, stderr, offsetMs: 0, exited: child.status, killed: false };
}

/** Waits until each of `peers` has connected and said hello; gives each its inbox. */
async function acceptPeers(
  listener: Deno.Listener,
  peers: Peer[],
  hook: (m: ControlMessage, p: Peer) => boolean,
): Promise<void> {
  const byRole = new Map<Role, Peer>(peers.map((p) => [p.role, p]));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Peers did not say hello within ${HELLO_TIMEOUT_MS} ms${peers.map(tail).join("")}`,
          ),
        ),
      HELLO_TIMEOUT_MS,
    );
  });
  const died = Promise.race(peers.map((p) =>
    p.exited.then((st) => {
      throw new Error(`The ${p.role} exited with code ${st.code} before saying hello${tail(p)}`);
    })
  ));
  try {
    for (let i = 0; i < peers.length; i++) {
      const conn = await Promise.race([listener.accept(), timeout, died]);
      (conn as Deno.TcpConn).setNoDelay?.(true);
      const ch = new ControlChannel(conn);
      const hello = await Promise.race([ch.next(), timeout, died]);
      if (!hello || hello.type !== "hello") {
        throw new Error("A peer connected without saying hello");
      }
      const p = byRole.get(hello.role);
      if (!p) throw new Error(`An unexpected ${hello.role} connected`);
      p.inbox = new Inbox(ch, (m) => hook(m, p));
    }
  } finally {
    clearTimeout(timer);
    died.catch(() => {});
  }
}

/** Estimates a peer's clock offset (peer minus runner) from the smallest of five round trips. */
async function estimateOffset(p: Peer): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 5; i++) {
    const t0 = systemClock.nowMs();
    await p.inbox!.channel.send({ type: "ping", t0 });
    const pong = await p.inbox!.wait("pong", { timeoutMs: 5_000, what: `the ${p.role}` });
    const t1 = systemClock.nowMs();
    if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: pong.peerMs - (t0 + t1) / 2 };
  }
  return best.offset;
}

/** Tells a peer to quit and takes its result (null when it is gone or sends none). */
async function quitPeer(p: Peer): Promise<Extract<ControlMessage, { type: "result" }> | null> {
  if (!p.inbox) return null;
  // A peer that already quit (a discarded destination) has its result queued.
  if (p.killed || p.inbox.ended) return p.inbox.take("result") ?? null;
  await p.inbox.channel.send({ type: "quit" }).catch(() => {});
  return await p.inbox.wait("result", { timeoutMs: 30_000, what: `the ${p.role}` }).catch(() =>
    null
  );
}

/** Asks every peer to quit, then kills what is left; never leaves a process behind. */
async function stopPeers(peers: Peer[]): Promise<void> {
  await Promise.all(peers.map(async (p) => {
    const exited = await Promise.race([
      p.exited.then(() => true),
      systemClock.sleep(3_000).then(() => false),
    ]);
    if (!exited) {
      try {
        p.child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await p.exited;
    }
    p.inbox?.channel.close();
  }));
}

function tail(p: Peer): string {
  const text = p.stderr.join("").trim();
  return text ? `\n--- ${p.role} stderr ---\n${text.slice(-2000)}` : "";
}

interface Collected {
  ends: AttemptEnd[];
  srcResult: Extract<ControlMessage, { type: "result" }> | null;
  dstRssBytesMax: number;
  srcOffsetMs: number;
  progress: ProgressRecord[];
  sourceKilled: boolean;
  faults: RealFaults | null;
  linkKind: "direct" | "proxy" | "kernel";
  kernel: KernelLink | null;
  cleanup: NonNullable<Result["cleanup"]>;
  runnerMs: number;
  /** Runner clock at the start of the first attempt. */
  t0: number;
}

function killedSummary(p: Peer): DestinationSummary {
  return emptyDestinationSummary(
    p.killed ? "The destination process was killed" : "The destination sent no result",
  );
}

/** What became of the source guest in an attempt, in words. */
function sourceGuestState(e: AttemptEnd, killed: boolean): string {
  if (e.report.outcome === "completed" && !e.switchoverFailed) {
    return "handed over to the destination";
  }
  if (!e.srcDigest && !e.contDigest) {
    return killed ? "lost: it died with the source process" : "unknown";
  }
  const intact = (e.contDigest ?? e.srcDigest)!.intact;
  if (!intact) return "running";
  return intact.memoryEqual
    ? "kept running, intact (equal to a replay of its workload)"
    : `kept running, NOT intact: ${intact.mismatchedPages} pages differ from a replay`;
}

function switchoverError(e: AttemptEnd, sourceKilled: boolean): string {
  const d = e.dstSummary;
  return `The destination did not resume the guest (${
    e.dst.killed ? "its process was killed" : d?.error ?? "it sent no digest"
  }); ${sourceKilled ? "the source is gone too" : "the source guest was resumed"}`;
}

function collect(s: ResolvedScenario, c: Collected): Result {
  const last = c.ends.at(-1)!;
  const src = last.report;
  const dst = last.dstSummary ??
    (last.dst.killed || !last.dstDigest ? killedSummary(last.dst) : null);
  const completed = src.outcome === "completed" && !last.switchoverFailed;
  const judged = last.contDigest ?? last.srcDigest;
  const comparison = completed
    ? last.dstDigest && last.srcDigest
      ? compareDigests(last.srcDigest.pages, last.dstDigest.pages, last.srcDigest.blocks, {
        free: last.srcDigest.free,
        lied: last.srcDigest.lied,
      })
      : null
    : judged?.intact ?? null;
  let downtimeMs: number | null = null;
  if (completed && src.stopAtMs !== null && dst?.resumeAtMs != null) {
    const resumed = dst.resumeAtMs - dst.digestMs - last.dst.offsetMs;
    downtimeMs = resumed - (src.stopAtMs - c.srcOffsetMs);
  }
  const report: SourceReport = last.switchoverFailed
    ? { ...src, outcome: "failed", error: switchoverError(last, c.sourceKilled) }
    : src;
  const guestLost = c.sourceKilled && !completed;
  const attempts = c.ends.map((e) => {
    const d = e.dstSummary ?? killedSummary(e.dst);
    const failedOver = e.report.outcome === "completed" && e.switchoverFailed;
    const error = failedOver ? switchoverError(e, c.sourceKilled) : e.report.error;
    return {
      attempt: e.n,
      outcome: failedOver ? "failed" as const : e.report.outcome,
      ...(error ? { error } : {}),
      destinationOutcome: d.outcome,
      destinationError: d.error ?? null,
      destinationResumed: d.resumeAtMs !== null || e.dstDigest !== null,
    };
  });
  const linkEvents = (e: AttemptEnd) => [
    ...(e.proxy?.events ?? []),
    ...(c.kernel?.events ?? []),
  ];
  const faultRecords = c.faults?.records(c.ends.map((e, i) => ({
    attempt: e.n,
    startAtMs: e.startAtMs,
    endAtMs: e.srcDigest?.report || e.report.outcome !== "failed" || !c.sourceKilled
      ? e.report.endAtMs - c.srcOffsetMs
      : null,
    outcome: attempts[i].outcome,
    error: i === c.ends.length - 1 ? report.error : attempts[i].error,
    sourceOutcome: e.report.outcome,
    destinationOutcome: attempts[i].destinationOutcome,
    destinationError: attempts[i].destinationError,
    destinationResumed: attempts[i].destinationResumed,
    destinationEndAtMs: e.dstSummary?.endAtMs != null
      ? e.dstSummary.endAtMs - e.dst.offsetMs
      : null,
    sourceGuest: sourceGuestState(e, c.sourceKilled && i === c.ends.length - 1),
    linkEvents: linkEvents(e),
  }))) ?? [];
  return buildResult(s, {
    source: report,
    destination: dst,
    comparison,
    counter: completed ? last.dstDigest?.counter ?? null : judged?.counter ?? null,
    downtimeMs,
    sourceGuestRunning: c.srcResult?.guestRunning ?? false,
    progress: src.progress.length ? src.progress : c.progress,
    destinationResumed: attempts.at(-1)!.destinationResumed,
    extra: {
      faults: faultRecords,
      ...(c.faults ? { faultsNotFired: c.faults.notFired() } : {}),
      guestLost,
      attempts,
      network: {
        link: c.linkKind,
        events: c.ends.flatMap(linkEvents).map((e) => ({
          atMs: Math.round((e.atMs - c.t0) * 10) / 10,
          what: e.what,
        })),
      },
      cleanup: c.cleanup,
    },
    liedPages: last.srcDigest?.lied ? countBits(last.srcDigest.lied) : null,
    wall: {
      checkerDigestMs: dst?.digestMs ?? 0,
      clockOffsetMs: { source: c.srcOffsetMs, destination: last.dst.offsetMs },
      rssBytesMax: {
        source: c.srcResult?.rssBytesMax ?? 0,
        destination: c.dstRssBytesMax,
      },
      runnerMs: c.runnerMs,
    },
  });
}
