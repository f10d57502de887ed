/**
 * Launching a peer process where the scenario places it (`hosts`): on this
 * machine, in an existing network namespace (`ip netns exec`), or on another
 * host over ssh. The real world asks a launcher for a peer and gets back a
 * process it can watch, signal and stop the same way wherever it runs.
 *
 * Over ssh (the ssh client with its usual configuration: keys, known hosts,
 * `ProxyJump`/`ProxyCommand`, `BatchMode=yes` so it never prompts; the
 * environment's `FERRY_SSH_CONFIG` names another config file, `ssh -F`):
 *
 * - **same code**: before anything runs, the remote checkout (`path`, by
 *   default the runner's own path) must be at the runner's commit with the
 *   same local changes (`git rev-parse HEAD` and the SHA-256 of `git diff
 *   HEAD` on both sides); otherwise the run stops, saying which differs. The
 *   peer code is not shipped.
 * - **control**: the peer dials a unix socket on its host that ssh forwards
 *   (`-R`) to the runner's control socket: the control channel crosses hosts
 *   inside the ssh connection, authenticated and encrypted by ssh. (The
 *   per-migration secret checked at hello is the security work's; see
 *   docs/hosts.md.)
 * - **lifetime**: a small `sh` wrapper starts the peer, prints its pid, and
 *   reads signal names from its standard input (SIGKILL, SIGSTOP, SIGCONT
 *   for the fault matrix); when the ssh connection ends for any reason
 *   (the runner quits, crashes or is killed, or the network drops) its input
 *   ends and it kills the peer with SIGKILL. Nothing is left on the host.
 * - **logs**: the peer's standard error comes back over ssh, line by line.
 *
 * zx runs the shell steps (commit checks, `ip` commands) and is imported on
 * the first of them.
 *
 * @example
 * ```ts ignore
 * import { launcherFor } from "./peer_launcher.ts";
 * const l = launcherFor({ kind: "ssh", user: "ci", host: "10.0.0.8", port: null, path: null }, "destination");
 * await l.prepare({ controlSocket: "/tmp/ferry-1/control.sock" });
 * const p = l.launch(["peers/destination.ts"]);
 * p.signal("SIGKILL");
 * await l.close();
 * ```
 * @module
 */
import { formatHost, type HostPlacement } from "../util/host_spec.ts";

/** A launched peer process, wherever it runs. */
export interface LaunchedPeer {
  /** The pid of the process this runner holds (the peer itself, or its ssh client). */
  readonly pid: number;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly status: Promise<Deno.CommandStatus>;
  /** Signals the peer itself (on its host). */
  signal(sig: "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM"): void;
  /** Ends the process this runner holds at once (an ssh client: the peer's wrapper then kills it). */
  terminate(): void;
}

/** How the runner sets the link down at the source's host (the hosts' own network). */
export interface HostLinkControl {
  /** The interface set down or up, and where. */
  readonly what: string;
  setLink(up: boolean): Promise<void>;
}

/** Starts peers at one placement. */
export interface PeerLauncher {
  readonly placement: HostPlacement;
  /** How it reads in messages: `local`, `netns:lab-a`, `ssh://ci@10.0.0.8`. */
  readonly label: string;
  /** The control address a peer there dials (set by {@link PeerLauncher.prepare}). */
  readonly controlAddress: string;
  /** The address the destination listens on there, and the source connects to. */
  readonly address: string;
  /**
   * Checks what must hold before anything runs there (reachable, same code)
   * and learns its address; throws Error saying what is wrong.
   */
  prepare(o: { controlSocket: string | null; controlTcp: string }): Promise<void>;
  /** Starts `deno run -A <args>` there (args[0] the peer script, relative to the checkout). */
  launch(args: string[]): LaunchedPeer;
  /** Link faults at this (the source's) host towards `address`. */
  linkControl(towards: string): Promise<HostLinkControl>;
  /** Stops what is left there; returns what could not be stopped ("host: pid ..."). */
  close(): Promise<string[]>;
}

/** The checkout this runner runs from (the folder holding `peers/`). */
export const CHECKOUT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** zx's `$`, quiet, never throwing; imported on the first shell step. */
async function zx() {
  const { $ } = await import("zx");
  return $({ quiet: true, verbose: false, nothrow: true });
}

/** Quotes a word for a POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The commit and local changes of a checkout: `COMMIT DIFF-SHA256` (run by `sh`). */
const CODE_ID_SCRIPT = (dir: string) =>
  `cd ${shellQuote(dir)} && git rev-parse HEAD && git diff HEAD | sha256sum | cut -c1-64`;

/** The runner's own code identity. */
async function localCodeId(): Promise<string> {
  const $ = await zx();
  const r = await $`sh -c ${CODE_ID_SCRIPT(CHECKOUT)}`;
  if (r.exitCode !== 0) {
    throw new Error(`cannot tell this checkout's commit (git): ${r.stderr.trim()}`);
  }
  return r.stdout.trim();
}

/** Makes the launcher for a placement. */
export function launcherFor(
  placement: HostPlacement,
  role: "source" | "destination",
): PeerLauncher {
  if (placement.kind === "netns") return new NetnsLauncher(placement, role);
  if (placement.kind === "ssh") return new SshLauncher(placement, role);
  return new LocalLauncher(role);
}

function spawned(cmd: string, args: string[], stdin: "null" | "piped"): Deno.ChildProcess {
  return new Deno.Command(cmd, { args, stdin, stdout: "null", stderr: "piped" }).spawn();
}

/** A process on this machine. */
class LocalLauncher implements PeerLauncher {
  readonly placement: HostPlacement = { kind: "local" };
  readonly label = "local";
  controlAddress = "";
  readonly address = "127.0.0.1";
  constructor(readonly role: string) {}
  prepare(o: { controlTcp: string }): Promise<void> {
    this.controlAddress = o.controlTcp;
    return Promise.resolve();
  }
  launch(args: string[]): LaunchedPeer {
    const child = spawned(Deno.execPath(), ["run", "-A", ...withControl(args, this)], "null");
    return localPeer(child);
  }
  linkControl(): Promise<HostLinkControl> {
    return Promise.reject(new Error("a local source has no link of its own to set down"));
  }
  close(): Promise<string[]> {
    return Promise.resolve([]);
  }
}

function withControl(args: string[], l: { controlAddress: string }): string[] {
  const [script, ...rest] = args;
  return [`${CHECKOUT}/${script}`, "--control", l.controlAddress, ...rest];
}

function localPeer(child: Deno.ChildProcess): LaunchedPeer {
  return {
    pid: child.pid,
    stderr: child.stderr,
    status: child.status,
    signal: (sig) => child.kill(sig),
    terminate: () => child.kill("SIGKILL"),
  };
}

/** A process in an existing network namespace of this machine (root). */
class NetnsLauncher implements PeerLauncher {
  readonly label: string;
  controlAddress = "";
  address = "";
  constructor(readonly placement: HostPlacement & { kind: "netns" }, readonly role: string) {
    this.label = formatHost(placement);
  }
  async prepare(o: { controlSocket: string | null }): Promise<void> {
    if (!o.controlSocket) throw new Error("a peer in a namespace needs the control socket");
    this.controlAddress = `unix:${o.controlSocket}`;
    const $ = await zx();
    const r = await $`ip -n ${this.placement.name} -4 -o addr show scope global`;
    if (r.exitCode !== 0) {
      throw new Error(`${this.label}: no such network namespace (${r.stderr.trim()})`);
    }
    const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout);
    if (!m) throw new Error(`${this.label}: the namespace has no global IPv4 address`);
    this.address = m[1];
  }
  launch(args: string[]): LaunchedPeer {
    // `ip netns exec` execs the command: the pid is the peer's own.
    const child = spawned(
      "ip",
      [
        "netns",
        "exec",
        this.placement.name,
        Deno.execPath(),
        "run",
        "-A",
        ...withControl(args, this),
      ],
      "null",
    );
    return localPeer(child);
  }
  async linkControl(towards: string): Promise<HostLinkControl> {
    const $ = await zx();
    const ns = this.placement.name;
    const dev = await routeDevice(await $`ip -n ${ns} route get ${towards}`, this.label, towards);
    return {
      what: `${dev} in ${this.label}`,
      setLink: async (up) => {
        const r = await $`ip -n ${ns} link set dev ${dev} ${up ? "up" : "down"}`;
        if (r.exitCode !== 0) {
          throw new Error(`${this.label}: ip link set ${dev}: ${r.stderr.trim()}`);
        }
      },
    };
  }
  close(): Promise<string[]> {
    return Promise.resolve([]);
  }
}

function routeDevice(
  r: { exitCode: number | null; stdout: string; stderr: string },
  label: string,
  towards: string,
): string {
  const dev = / dev (\S+)/.exec(r.stdout)?.[1];
  if (r.exitCode !== 0 || !dev) {
    throw new Error(`${label}: no route to ${towards}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return dev;
}

/** A process on another host, over ssh. */
class SshLauncher implements PeerLauncher {
  readonly label: string;
  controlAddress = "";
  readonly address: string;
  #remoteSocket = "";
  #localSocket = "";
  #dir: string;
  #children: { child: Deno.ChildProcess; writer: WritableStreamDefaultWriter<Uint8Array> }[] = [];
  static #n = 0;
  static #checked = new Map<string, Promise<void>>();

  constructor(readonly placement: HostPlacement & { kind: "ssh" }, readonly role: string) {
    this.label = formatHost(placement);
    this.address = placement.host;
    this.#dir = placement.path ?? CHECKOUT;
  }

  /** ssh's arguments up to and including the destination. */
  #ssh(extra: string[] = []): string[] {
    const p = this.placement;
    const config = Deno.env.get("FERRY_SSH_CONFIG");
    return [
      ...(config ? ["-F", config] : []),
      "-T",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=15",
      "-o",
      "ServerAliveInterval=5",
      "-o",
      "ServerAliveCountMax=3",
      ...(p.port ? ["-p", String(p.port)] : []),
      ...extra,
      p.user ? `${p.user}@${p.host}` : p.host,
    ];
  }

  /** Runs a shell command on the host; returns its result. */
  async #run(script: string) {
    const $ = await zx();
    return await $`ssh ${this.#ssh()} ${`sh -c ${shellQuote(script)}`}`;
  }

  async prepare(o: { controlSocket: string | null }): Promise<void> {
    if (!o.controlSocket) throw new Error("a peer over ssh needs the control socket");
    this.#localSocket = o.controlSocket;
    // One check per host and checkout for the life of the runner (a matrix runs many cases).
    const key = `${this.label} ${this.#dir}`;
    let check = SshLauncher.#checked.get(key);
    if (!check) {
      check = this.#checkCode();
      SshLauncher.#checked.set(key, check);
      check.catch(() => SshLauncher.#checked.delete(key));
    }
    await check;
    const n = ++SshLauncher.#n;
    this.#remoteSocket = `/tmp/ferry-ctl-${Deno.pid}-${this.role}-${n}-${
      crypto.getRandomValues(new Uint32Array(1))[0].toString(36)
    }.sock`;
    this.controlAddress = `unix:${this.#remoteSocket}`;
  }

  /** The remote checkout runs the runner's code: same commit, same local changes. */
  async #checkCode(): Promise<void> {
    const [remote, local] = await Promise.all([
      this.#run(
        `${CODE_ID_SCRIPT(this.#dir)}; command -v deno >/dev/null || echo "no deno on PATH" >&2`,
      ),
      localCodeId(),
    ]);
    if (remote.exitCode === 255) {
      throw new Error(`${this.label}: ssh failed: ${remote.stderr.trim()}`);
    }
    if (remote.exitCode !== 0 || remote.stderr.includes("no deno on PATH")) {
      throw new Error(
        `${this.label}: no Ferry checkout to run at ${this.#dir} (git and deno on PATH needed): ${remote.stderr.trim()}`,
      );
    }
    const [rc, rd] = remote.stdout.trim().split("\n");
    const [lc, ld] = local.split("\n");
    if (rc !== lc) {
      throw new Error(
        `${this.label}: the checkout at ${this.#dir} is at commit ${
          rc.slice(0, 12)
        }, this runner at ${lc.slice(0, 12)}: the peers must run the same code`,
      );
    }
    if (rd !== ld) {
      throw new Error(
        `${this.label}: the checkout at ${this.#dir} has other local changes than this runner's (git diff HEAD differs): the peers must run the same code`,
      );
    }
  }

  launch(args: string[]): LaunchedPeer {
    const [script, ...rest] = args;
    const peer = [
      "deno",
      "run",
      "-A",
      script,
      "--control",
      this.controlAddress,
      ...rest,
    ].map(shellQuote).join(" ");
    const sock = shellQuote(this.#remoteSocket);
    // The wrapper: the peer in the background, its pid on stderr, signals from stdin; the end of
    // stdin (the ssh connection gone) kills the peer.
    const wrapper = [
      `cd ${shellQuote(this.#dir)} || exit 97`,
      "exec 3<&0",
      `${peer} </dev/null &`,
      "pid=$!",
      `echo "ferry-peer-pid $pid on $(hostname)" >&2`,
      `(while read -r s; do kill -s "$s" "$pid" 2>/dev/null; done; kill -s KILL "$pid" 2>/dev/null; rm -f ${sock}) <&3 >/dev/null 2>&1 &`,
      "reader=$!",
      "exec 3<&-",
      `wait "$pid"; code=$?`,
      // The peer is gone: the reader goes too, so that the session ends at once.
      `kill "$reader" 2>/dev/null`,
      `echo "ferry-peer-exit $code" >&2`,
      `rm -f ${sock}`,
      "exit $code",
    ].join("\n");
    const child = spawned(
      "ssh",
      [
        ...this.#ssh([
          "-o",
          "ExitOnForwardFailure=yes",
          "-o",
          "StreamLocalBindUnlink=yes",
          "-R",
          `${this.#remoteSocket}:${this.#localSocket}`,
        ]),
        `sh -c ${shellQuote(wrapper)}`,
      ],
      "piped",
    );
    const writer = child.stdin.getWriter();
    this.#children.push({ child, writer });
    const enc = new TextEncoder();
    return {
      pid: child.pid,
      stderr: child.stderr,
      status: child.status,
      signal: (sig) => {
        writer.write(enc.encode(`${sig.replace(/^SIG/, "")}\n`)).catch(() => {});
      },
      terminate: () => child.kill("SIGKILL"),
    };
  }

  async linkControl(towards: string): Promise<HostLinkControl> {
    const r = await this.#run(`ip route get ${shellQuote(towards)}`);
    const dev = routeDevice(r, this.label, towards);
    return {
      what: `${dev} on ${this.label}`,
      setLink: async (up) => {
        const s = await this.#run(`ip link set dev ${shellQuote(dev)} ${up ? "up" : "down"}`);
        if (s.exitCode !== 0) {
          throw new Error(
            `${this.label}: ip link set ${dev} (root needed there): ${s.stderr.trim()}`,
          );
        }
      },
    };
  }

  /** Ends every ssh connection (the wrappers then kill their peers) and looks for leftovers. */
  async close(): Promise<string[]> {
    await Promise.all(this.#children.map(async ({ child, writer }) => {
      await writer.close().catch(() => {});
      const done = await Promise.race([
        child.status.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5_000)),
      ]);
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
      }
    }));
    if (!this.#remoteSocket) return [];
    // Any process there still holding this run's control socket name is a leftover.
    const r = await this.#run(
      `pgrep -f ${shellQuote(`[-]-control unix:${this.#remoteSocket}`)} || true; ls ${
        shellQuote(this.#remoteSocket)
      } 2>/dev/null || true`,
    );
    if (r.exitCode !== 0) {
      return [`${this.label}: could not check for leftovers: ${r.stderr.trim()}`];
    }
    return r.stdout.split("\n").map((l) => l.trim()).filter((l) => l).map((l) =>
      /^\d+$/.test(l) ? `${this.label}: process ${l}` : `${this.label}: ${l}`
    );
  }
}
