/**
 * Where a run was measured: the machine (CPU model and count, memory, OS,
 * Deno version, load) and the git commit of the code (with a flag when the
 * worktree had uncommitted changes). Stored with every run so that numbers
 * from different machines or commits are never mistaken for each other.
 *
 * @example
 * ```ts
 * import { describeMachine } from "./machine.ts";
 * const m = describeMachine();
 * console.log(typeof m.deno, m.arch === Deno.build.arch); // "string" true
 * ```
 * @module
 */
import { ROOT } from "./data_file.ts";

/** A machine, as stored with every run. */
export interface MachineDescription {
  /** The machine's host name ("unknown" when it cannot be read). */
  hostname: string;
  /** The OS and its release, e.g. "linux 6.1.0" (release "unknown" when it cannot be read). */
  os: string;
  /** The CPU architecture Deno was built for, e.g. "x86_64". */
  arch: string;
  /** The CPU model name from /proc/cpuinfo ("unknown" outside Linux). */
  cpuModel: string;
  /** Logical CPUs (null: not known). */
  cpus: number | null;
  /** Physical memory (null: not known). */
  memoryBytes: number | null;
  /** The Deno version, e.g. "2.1.4". */
  deno: string;
  /** The V8 version Deno embeds. */
  v8: string;
  /** 1-minute load average when the run started (others sharing the machine skew timings). */
  loadAvg1: number | null;
}

/** Describes this machine. Never throws: a text that cannot be read is "unknown", a figure null. */
export function describeMachine(): MachineDescription {
  let cpuModel = "unknown";
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(info)?.[1].trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  let memoryBytes: number | null = null, loadAvg1: number | null = null;
  try {
    memoryBytes = Deno.systemMemoryInfo().total;
  } catch {
    // not available
  }
  try {
    loadAvg1 = Deno.loadavg()[0];
  } catch {
    // not available
  }
  const cpus = navigator.hardwareConcurrency;
  return {
    hostname: safe(() => Deno.hostname()),
    os: `${Deno.build.os} ${safe(() => Deno.osRelease())}`,
    arch: Deno.build.arch,
    cpuModel,
    cpus: Number.isInteger(cpus) && cpus > 0 ? cpus : null,
    memoryBytes,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    loadAvg1,
  };
}

function safe(f: () => string): string {
  try {
    return f();
  } catch {
    return "unknown";
  }
}

/** The code's git commit, and whether the worktree had changes; nulls outside git. */
export interface CommitInfo {
  /** The full SHA-1 of HEAD (null: not in git, or git failed). */
  commit: string | null;
  /** Tracked files had uncommitted changes (untracked files do not count; null: not known). */
  dirty: boolean | null;
}

/** Reads the commit of the Ferry checkout this code runs from. Never throws. */
export async function gitCommit(dir: URL = ROOT): Promise<CommitInfo> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-C", decodeURIComponent(dir.pathname), ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error(`git ${args[0]} failed`);
    return new TextDecoder().decode(out.stdout).trim();
  };
  try {
    const commit = await git("rev-parse", "HEAD");
    const status = await git("status", "--porcelain", "--untracked-files=no");
    return { commit, dirty: status.length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

/**
 * One line for reports: "2 x AMD EPYC 7B13, 7.8 GiB, linux 6.1, deno 2.x";
 * a figure that is not known is left out.
 */
export function machineLine(m: MachineDescription): string {
  const cpus = typeof m.cpus === "number" ? `${m.cpus} x ` : "";
  const gib = typeof m.memoryBytes === "number"
    ? `, ${(m.memoryBytes / 1024 ** 3).toFixed(1)} GiB`
    : "";
  const load = typeof m.loadAvg1 === "number" ? `, load ${m.loadAvg1.toFixed(2)}` : "";
  return `${cpus}${m.cpuModel}${gib}, ${m.os} ${m.arch}, deno ${m.deno}${load}`;
}
