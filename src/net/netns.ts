/**
 * Kernel shaping (opt-in, `network.kernel: true`): the peers run in two
 * network namespaces of their own, joined by a veth pair and rate-limited
 * with `tc` `tbf` on each end's egress (and, where the kernel has `netem`,
 * delayed by it; these kernels usually lack it, and then a scenario that asks
 * for latency or jitter is skipped with that reason). Set up and torn down
 * with zx, loaded on the first shell step (importing this module loads
 * nothing else); needs root.
 *
 * Addresses come from one range only, 198.18.0.0/15 (RFC 2544, set aside for
 * network benchmark tests), and only inside the namespaces: the source is
 * 198.18.0.1/30, the destination 198.18.0.2/30; namespaces do not share
 * addresses, so parallel runs do not collide. Names carry the runner's pid
 * (`ferry-<pid>-<n>-s`, `-d`), so {@link removeStaleNamespaces} can remove
 * what a killed runner left behind.
 *
 * Link faults in the kernel: a cut sets both ends down for good (a cable
 * pulled: no reset, the peers notice by their timeout); a partition sets them
 * down for its duration (TCP retransmits afterwards, with its back-off).
 *
 * @example
 * ```ts ignore
 * const why = await kernelShapingUnavailable({ latencyMs: 0, jitterMs: 0 });
 * if (why) console.log(`skipped: ${why}`);
 * const link = await KernelLink.create({ bandwidthBytesPerSec: 12_500_000, burstBytes: 65536 });
 * const cmd = link.exec("destination", ["deno", "run", "-A", "peers/destination.ts"]);
 * await link.close();
 * ```
 * @module
 */
import { systemClock } from "../util/clock.ts";

/** The one address range used, only inside the namespaces. */
export const TEST_RANGE = "198.18.0.0/15";
/** The source's and the destination's addresses. */
export const ADDRESSES = { source: "198.18.0.1", destination: "198.18.0.2" } as const;

const PREFIX = "ferry-";
let counter = 0;

/** Kernel link options. */
export interface KernelLinkOptions {
  /** Bytes per second each way; 0: unlimited. */
  bandwidthBytesPerSec: number;
  burstBytes: number;
  latencyMs?: number;
  jitterMs?: number;
}

/**
 * zx's `$`, quiet and never throwing on a non-zero exit. Imported here, on the
 * first shell step, not when this module is: a run that never asks for
 * kernel shaping never loads zx.
 */
async function zx() {
  const { $ } = await import("zx");
  return $({ quiet: true, verbose: false, nothrow: true });
}

/** The names of the network namespaces (`ip netns list`). */
async function namespaceNames(): Promise<string[]> {
  const $ = await zx();
  const r = await $`ip netns list`;
  return r.stdout.split("\n").map((l) => l.split(" ")[0]);
}

/**
 * Runs a command; returns its stderr (trimmed) when it fails, or null. A
 * command that cannot start (not installed) fails with its error message;
 * zx that cannot be loaded is not a failed command and throws.
 */
async function run(args: string[]): Promise<string | null> {
  const $ = await zx();
  try {
    const r = await $`${args}`;
    return r.exitCode === 0 ? null : (r.stderr.trim() || `exit code ${r.exitCode}`);
  } catch (e) {
    return (e as Error).message;
  }
}

/** Runs a command; throws an Error naming it when it fails. */
async function must(args: string[]): Promise<void> {
  const err = await run(args);
  if (err !== null) throw new Error(`Kernel shaping: \`${args.join(" ")}\` failed: ${err}`);
}

/**
 * Why kernel shaping cannot run here (not root, no `ip` or `tc`, a qdisc
 * missing), or null when it can. Probes the qdiscs in a throwaway namespace,
 * never on the host's interfaces.
 */
export async function kernelShapingUnavailable(
  options: { latencyMs?: number; jitterMs?: number } = {},
): Promise<string | null> {
  if (Deno.build.os !== "linux") return `kernel shaping needs Linux, this is ${Deno.build.os}`;
  if (Deno.uid() !== 0) return `kernel shaping needs root (uid is ${Deno.uid()})`;
  for (const tool of ["ip", "tc"]) {
    if (await run([tool, "-V"]) !== null) return `kernel shaping needs \`${tool}\` (iproute2)`;
  }
  const ns = `${PREFIX}${Deno.pid}-probe${counter++}`;
  const made = await run(["ip", "netns", "add", ns]);
  if (made !== null) return `cannot create a network namespace: ${made}`;
  try {
    await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
    const tbf = await run(
      ["tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "tbf", ...tbfArgs(125_000, 65536)],
    );
    if (tbf !== null) return `the tbf qdisc is missing: ${tbf}`;
    if ((options.latencyMs ?? 0) > 0 || (options.jitterMs ?? 0) > 0) {
      const netem = await run(
        ["tc", "-n", ns, "qdisc", "replace", "dev", "lo", "root", "netem", "delay", "1ms"],
      );
      if (netem !== null) {
        return `latency and jitter need the netem qdisc, which this kernel lacks (${netem}); ` +
          "use the userspace link (network.kernel: false)";
      }
    }
    return null;
  } finally {
    await run(["ip", "netns", "del", ns]);
  }
}

function tbfArgs(bytesPerSec: number, burstBytes: number): string[] {
  // The queue may hold 100 ms of traffic beyond the burst before tbf drops.
  return [
    "rate",
    `${Math.round(bytesPerSec * 8)}bit`,
    "burst",
    `${burstBytes}`,
    "latency",
    "100ms",
  ];
}

/** Removes namespaces left by runners that no longer run; returns their names. */
export async function removeStaleNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await namespaceNames()) {
    const m = /^ferry-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === Deno.pid;
    try {
      alive ||= Deno.statSync(`/proc/${pid}`).isDirectory;
    } catch {
      // gone
    }
    if (!alive && (await run(["ip", "netns", "del", name])) === null) removed.push(name);
  }
  return removed;
}

/** Two namespaces joined by a shaped veth pair. */
export class KernelLink {
  readonly namespaces: { source: string; destination: string };
  readonly devices: { source: string; destination: string };
  /** What was done to the link (rate changes, faults), on the system clock. */
  readonly events: { atMs: number; what: string }[] = [];
  #o: KernelLinkOptions;
  #netem: boolean;
  #closed = false;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #pending = new Set<Promise<unknown>>();

  private constructor(tag: string, options: KernelLinkOptions) {
    this.namespaces = { source: `${PREFIX}${tag}-s`, destination: `${PREFIX}${tag}-d` };
    const short = `fy${Deno.pid.toString(36)}${tag.split("-")[1]}`;
    this.devices = { source: `${short}s`, destination: `${short}d` };
    this.#o = options;
    this.#netem = (options.latencyMs ?? 0) > 0 || (options.jitterMs ?? 0) > 0;
  }

  /** Creates the namespaces, the veth pair, the addresses and the qdiscs; on failure removes what it made. */
  static async create(options: KernelLinkOptions): Promise<KernelLink> {
    const link = new KernelLink(`${Deno.pid}-${counter++}`, options);
    try {
      await link.#setUp();
    } catch (e) {
      await link.close();
      throw e;
    }
    return link;
  }

  /** The command line that runs `args` inside the peer's namespace. */
  exec(role: "source" | "destination", args: string[]): string[] {
    return ["ip", "netns", "exec", this.namespaces[role], ...args];
  }

  async #setUp(): Promise<void> {
    const { source: ns, destination: nd } = this.namespaces;
    const { source: vs, destination: vd } = this.devices;
    await must(["ip", "netns", "add", ns]);
    await must(["ip", "netns", "add", nd]);
    await must([
      "ip",
      "link",
      "add",
      vs,
      "netns",
      ns,
      "type",
      "veth",
      "peer",
      "name",
      vd,
      "netns",
      nd,
    ]);
    await must(["ip", "-n", ns, "addr", "add", `${ADDRESSES.source}/30`, "dev", vs]);
    await must(["ip", "-n", nd, "addr", "add", `${ADDRESSES.destination}/30`, "dev", vd]);
    for (const [n, d] of [[ns, vs], [nd, vd]]) {
      await must(["ip", "-n", n, "link", "set", "lo", "up"]);
      await must(["ip", "-n", n, "link", "set", d, "up"]);
      if (this.#netem) {
        const delay = [`${this.#o.latencyMs ?? 0}ms`];
        if (this.#o.jitterMs) delay.push(`${this.#o.jitterMs}ms`);
        await must(
          [
            "tc",
            "-n",
            n,
            "qdisc",
            "add",
            "dev",
            d,
            "root",
            "handle",
            "1:",
            "netem",
            "delay",
            ...delay,
          ],
        );
      }
    }
    await this.setBandwidth(this.#o.bandwidthBytesPerSec);
  }

  /** Changes the rate both ways (0: unlimited). */
  async setBandwidth(bytesPerSec: number): Promise<void> {
    if (this.#closed) return;
    for (const role of ["source", "destination"] as const) {
      const n = this.namespaces[role], d = this.devices[role];
      const where = this.#netem ? ["parent", "1:", "handle", "2:"] : ["root"];
      if (bytesPerSec > 0) {
        await must([
          "tc",
          "-n",
          n,
          "qdisc",
          "replace",
          "dev",
          d,
          ...where,
          "tbf",
          ...tbfArgs(bytesPerSec, this.#o.burstBytes),
        ]);
      } else await run(["tc", "-n", n, "qdisc", "del", "dev", d, ...where]);
    }
    this.events.push({
      atMs: systemClock.nowMs(),
      what: `bandwidth ${bytesPerSec > 0 ? `${bytesPerSec} B/s` : "unlimited"} (tc tbf)`,
    });
  }

  /** Sets both ends of the link down (`up: false`) or up. */
  async setLink(up: boolean): Promise<void> {
    if (this.#closed) return;
    for (const role of ["source", "destination"] as const) {
      await run(
        ["ip", "-n", this.namespaces[role], "link", "set", this.devices[role], up ? "up" : "down"],
      );
    }
  }

  /** A cable pulled: both ends down for good. */
  async cut(): Promise<void> {
    await this.setLink(false);
    this.events.push({ atMs: systemClock.nowMs(), what: "link cut (veth down)" });
  }

  /** Both ends down for `durationMs`, then up again. */
  async partition(durationMs: number): Promise<void> {
    await this.setLink(false);
    this.events.push({
      atMs: systemClock.nowMs(),
      what: `partition for ${durationMs} ms (veth down)`,
    });
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const p = this.setLink(true).then(() =>
        this.events.push({ atMs: systemClock.nowMs(), what: "partition over (veth up)" })
      );
      this.#pending.add(p);
      p.finally(() => this.#pending.delete(p));
    }, durationMs);
    this.#timers.add(timer);
  }

  /** Removes both namespaces (and with them the veth pair and qdiscs); safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    await Promise.all(this.#pending);
    for (const n of Object.values(this.namespaces)) await run(["ip", "netns", "del", n]);
  }

  /** Whether both namespaces are gone (after {@link close}). */
  async removed(): Promise<boolean> {
    const names = await namespaceNames();
    return !Object.values(this.namespaces).some((n) => names.includes(n));
  }
}
