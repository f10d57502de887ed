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
import type { ControlMessage, DestinationSummary, PeerConfig } from "../control/protocol.ts";
import type { SourceReport } from "../engine/source.ts";
import { compareDigests, countBits } from "./checker.ts";
import { buildResult } from "./result.ts";
import { runSimulation } from "./sim_runner.ts";
import type { ProgressRecord, Result, Scenario } from "./types.ts";
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

async function runResolved(s: ResolvedScenario, options: RunOptions): Promise<Result> {
  const log = options.log ?? (() => {});
  const t0 = systemClock.nowMs();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const controlAddr = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  const peers: Peer[] = [];
  const progress: ProgressRecord[] = [];
  const phases: { role: Role; phase: string; round: number; atMs: number }[] = [];
  try {
    for (const role of ["destination", "source"] as const) peers.push(spawnPeer(role, controlAddr));
    const [dst, src] = await acceptPeers(listener, peers, (m, role) => {
      if (m.type === "progress") {
        progress.push(m.record);
        options.onProgress?.(m.record);
        return true;
      }
      if (m.type === "phase") {
        phases.push({ role, phase: m.phase, round: m.round, atMs: m.atMs });
        log(`${role}: ${m.phase}${m.phase === "round" ? ` ${m.round}` : ""}`);
        return true;
      }
      return false;
    });
    for (const p of [dst, src]) p.offsetMs = await estimateOffset(p);

    const blocks = [{ name: "pc.ram", bytes: s.ramBytes }];
    const dstConfig: PeerConfig = {
      migration: s.migration,
      listen: { hostname: "127.0.0.1", port: 0 },
      maxRamBytes: s.ramBytes,
      ram: blocks,
    };
    await dst.inbox!.channel.send({ type: "configure", config: dstConfig });
    const { port } = await dst.inbox!.wait("ready", {
      timeoutMs: HELLO_TIMEOUT_MS,
      what: "the destination",
    });
    const srcConfig: PeerConfig = {
      migration: s.migration,
      guest: {
        blocks,
        fill: s.fill,
        seed: s.seed,
        workload: s.workload,
        balloon: s.balloon,
      },
    };
    await src.inbox!.channel.send({ type: "configure", config: srcConfig });
    await src.inbox!.wait("ready", { timeoutMs: 120_000, what: "the source" });
    log(`guest running; warming up for ${s.warmupMs} ms`);
    await systemClock.sleep(s.warmupMs);

    await src.inbox!.channel.send({
      type: "start",
      connect: { hostname: "127.0.0.1", port: port! },
    });
    const deadline = s.migration.maxTimeMs + 4 * s.migration.peerTimeoutMs + 60_000;
    const srcDigest = await src.inbox!.wait("digest", { timeoutMs: deadline, what: "the source" });
    // The destination digests only when it loaded everything; otherwise it has its result ready.
    const dstDigest = await Promise.race([
      dst.inbox!.wait("digest", {
        timeoutMs: s.migration.peerTimeoutMs + 10_000,
        what: "the destination",
      }),
      dst.inbox!.wait("error", { what: "the destination" }).then(() => null),
      dst.exited.then(() => null),
    ]).catch(() => null);
    if (dstDigest) await systemClock.sleep(s.settleMs);

    const [srcResult, dstResult] = await Promise.all([src, dst].map(async (p) => {
      await p.inbox!.channel.send({ type: "quit" }).catch(() => {});
      return await p.inbox!.wait("result", { timeoutMs: 30_000, what: `the ${p.role}` }).catch(() =>
        null
      );
    }));
    const source = srcResult?.source;
    if (!source) throw new Error(`The source sent no result${tail(src)}`);
    const destination = dstResult?.destination ?? null;

    return collect(s, {
      source,
      destination,
      srcDigest,
      dstDigest,
      srcOffsetMs: src.offsetMs,
      dstOffsetMs: dst.offsetMs,
      progress: source.progress.length ? source.progress : progress,
      phases,
      rss: { source: srcResult?.rssBytesMax ?? 0, destination: dstResult?.rssBytesMax ?? 0 },
      sourceGuestRunning: srcResult?.guestRunning ?? false,
      runnerMs: systemClock.nowMs() - t0,
    });
  } finally {
    listener.close();
    await stopPeers(peers);
  }
}

function spawnPeer(role: Role, controlAddr: string): Peer {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PEERS[role].pathname, "--control", controlAddr],
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
  return { role, child, stderr, offsetMs: 0, exited: child.status };
}

async function acceptPeers(
  listener: Deno.Listener,
  peers: Peer[],
  hook: (m: ControlMessage, role: Role) => boolean,
): Promise<[Peer, Peer]> {
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
      const conn = await Promise.race([listener.accept(), timeout, died]) as Deno.TcpConn;
      conn.setNoDelay(true);
      const ch = new ControlChannel(conn);
      const hello = await Promise.race([ch.next(), timeout, died]);
      if (!hello || hello.type !== "hello") {
        throw new Error("A peer connected without saying hello");
      }
      const p = byRole.get(hello.role)!;
      p.inbox = new Inbox(ch, (m) => hook(m, p.role));
    }
  } finally {
    clearTimeout(timer);
    died.catch(() => {});
  }
  return [byRole.get("destination")!, byRole.get("source")!];
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
  source: SourceReport;
  destination: DestinationSummary | null;
  srcDigest: Extract<ControlMessage, { type: "digest" }>;
  dstDigest: Extract<ControlMessage, { type: "digest" }> | null;
  srcOffsetMs: number;
  dstOffsetMs: number;
  progress: ProgressRecord[];
  phases: { role: Role; phase: string; round: number; atMs: number }[];
  rss: { source: number; destination: number };
  sourceGuestRunning: boolean;
  runnerMs: number;
}

function collect(s: ResolvedScenario, c: Collected): Result {
  const src = c.source;
  const dst = c.destination;
  const completed = src.outcome === "completed";
  const comparison = completed
    ? c.dstDigest
      ? compareDigests(c.srcDigest.pages, c.dstDigest.pages, c.srcDigest.blocks, {
        free: c.srcDigest.free,
        lied: c.srcDigest.lied,
      })
      : null
    : c.srcDigest.intact ?? null;
  let downtimeMs: number | null = null;
  if (completed && src.stopAtMs !== null && dst?.resumeAtMs != null) {
    const resumed = dst.resumeAtMs - dst.digestMs - c.dstOffsetMs;
    downtimeMs = resumed - (src.stopAtMs - c.srcOffsetMs);
  }
  return buildResult(s, {
    source: src,
    destination: dst,
    comparison,
    counter: completed ? c.dstDigest?.counter ?? null : c.srcDigest.counter,
    downtimeMs,
    sourceGuestRunning: c.sourceGuestRunning,
    progress: c.progress,
    liedPages: c.srcDigest.lied ? countBits(c.srcDigest.lied) : null,
    wall: {
      checkerDigestMs: dst?.digestMs ?? 0,
      clockOffsetMs: { source: c.srcOffsetMs, destination: c.dstOffsetMs },
      rssBytesMax: c.rss,
      runnerMs: c.runnerMs,
    },
  });
}
